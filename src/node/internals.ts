// Every Node internal rewind reaches past the public API (process.binding's handle classes,
// private symbols, underscore fields) is looked up here, by name, once, and checked. What
// is missing — `node --permission` makes process.binding throw; a future Node may rename
// something — is listed with the sources it switches off, so that recording says so (on
// stderr and in the log's header) and replay refuses, instead of either going on silently.

/** An internal rewind could not reach, and what is not recorded because of it. */
export interface MissingInternal {
  /** The internal, as rewind names it: "process.binding('tcp_wrap')". */
  name: string;
  /** Why it could not be reached: the error Node gave, or what was wrong with it. */
  why: string;
  /** What rewind does not record without it. */
  affects: string;
}

const missing: MissingInternal[] = [];
/** Every name looked up so far, found or not. */
const names = new Set<string>();

/**
 * REWIND_HIDE_INTERNALS: names (as `lookup` gives them, separated by `;`) rewind treats as
 * missing, as a Node that renamed them would be: how the tests check that each missing
 * internal is reported, and a way to see what a recording would lack without one.
 */
export const HIDE_ENV = 'REWIND_HIDE_INTERNALS';

function hidden(name: string): boolean {
  const list = process.env[HIDE_ENV];
  return list !== undefined && list.split(';').some((n) => n.trim() === name);
}

/**
 * Looks up one internal: `get` returns it or throws. Returns it, or null after noting it
 * missing (once per name).
 */
export function lookup<T>(name: string, affects: string, get: () => T): T | null {
  names.add(name);
  try {
    if (hidden(name)) throw new Error(`hidden by ${HIDE_ENV}`);
    const value = get();
    if (value === undefined || value === null) throw new Error('not found');
    return value;
  } catch (e) {
    if (!missing.some((m) => m.name === name)) {
      const err = e as { code?: string; message?: string };
      missing.push({ name, affects, why: [err.code, err.message].filter(Boolean).join(': ') || String(e) });
    }
    return null;
  }
}

/** The name of every internal looked up in this process so far. */
export function lookedUp(): readonly string[] {
  return [...names];
}

/** Internals rewind needed and could not reach in this process, so far. */
export function missingInternals(): readonly MissingInternal[] {
  return missing;
}

/** The missing internals grouped by why they are missing (one reason often covers all), for stderr. */
export function describeMissing(list: readonly MissingInternal[]): string {
  const byWhy = new Map<string, MissingInternal[]>();
  for (const m of list) byWhy.set(m.why, [...(byWhy.get(m.why) ?? []), m]);
  return [...byWhy]
    .map(
      ([why, ms]) =>
        `  ${ms.map((m) => m.name).join(', ')}: ${why}\n    not recorded: ${[...new Set(ms.map((m) => m.affects))].join('; ')}\n`,
    )
    .join('');
}

/** An internal binding by name (process.binding), without the deprecation warning it may print. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each binding's shape is described where it is used
export function binding(name: string): any {
  // process.binding is documentation-deprecated (DEP0111); with --pending-deprecation it
  // warns, which would add output the program did not write.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return (process as unknown as { binding(name: string): unknown }).binding(name);
  } finally {
    process.emitWarning = emitWarning;
  }
}

let parserClass: unknown;

/**
 * Whether httpParserClass() can find the class, told without loading node:http (which most
 * programs never load): where process.getBuiltinModule is (Node 20.16+), _http_common has
 * it on every Node rewind supports; if it does not, the sources say so when it loads.
 */
export function httpParserReachable(): boolean {
  return typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === 'function';
}

/**
 * Node's HTTPParser class (the `_http_common` module's, the one its http server uses;
 * process.binding('http_parser') is gone on Node 24), or null. Its consume(), unconsume()
 * and getCurrentBuffer() are taken over by sources/streams.ts (a server's connections are
 * read through it); without it the server reads through 'data' events (nothing is lost).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function httpParserClass(): any {
  if (parserClass === undefined) {
    try {
      const builtin = (process as unknown as { getBuiltinModule?(id: string): unknown }).getBuiltinModule;
      const common = builtin?.('_http_common');
      parserClass = (common as { HTTPParser?: unknown } | undefined)?.HTTPParser ?? null;
    } catch {
      parserClass = null;
    }
  }
  return parserClass;
}
