// Trust: a recording is data that travels, and replaying one must never run code it names.
//
// What a recording could make run at replay is what changes how Node starts: code-loading
// flags (in execArgv or NODE_OPTIONS), `-e`/`-p` source, and variables that make Node or the
// C library load code (NODE_PATH, LD_PRELOAD, OPENSSL_CONF...). rewind signs the header of
// every log it writes (an HMAC with a per-user key kept outside the recording, under the
// user's config directory): a log whose signature checks was made by this user on this
// machine, and its start-up is applied as recorded. Any other log's start-up is not applied
// unless the user passes --trust after rewind has shown exactly what would run. Either way
// the program reads the recorded values (process.env, process.execArgv) from the log.
//
// Only the header is signed: it holds everything that decides what runs; the events are
// data, checked by CRC and validated when read, and never name code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { takenWhenLoaded } from '../node/fields.js';
import { original } from '../node/originals.js';
import type { TraceHeader } from '../trace/format.js';
import { hmacSha256Hex } from './digest.js';

// os.homedir as Node made it (taken when node:os loads: not at start-up, where HOME is mostly set).
const nodeHomedir = takenWhenLoaded('os', () => os.homedir);

/** Where the signing key lives: `$XDG_CONFIG_HOME/rewind/key`, else `~/.config/rewind/key`. */
export function keyPath(env: NodeJS.ProcessEnv = process.env): string {
  const config =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(env.HOME || nodeHomedir()(), '.config');
  return path.join(config, 'rewind', 'key');
}

const KEY_BYTES = 32;

/**
 * This user's signing key; created (0600, in a 0700 directory) when `create` and absent.
 * Created through a complete temporary file hard-linked into place, so that processes
 * recording in parallel all end up with the one key. Null when there is none to be had.
 */
export function signingKey(create: boolean): Buffer | null {
  const file = keyPath();
  const read = (): Buffer | null => {
    try {
      const st = fs.lstatSync(file);
      if (
        !st.isFile() ||
        (typeof process.getuid === 'function' && st.uid !== process.getuid()) ||
        (st.mode & 0o077) !== 0
      )
        return null;
      const key = original.fs.readFileSync(file) as Buffer;
      return key.length === KEY_BYTES ? key : null;
    } catch {
      return null;
    }
  };
  const key = read();
  if (key || !create) return key;
  try {
    original.fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${original.pid}.${original.crypto().randomBytes(4).toString('hex')}`;
    const fd = original.fs.openSync(tmp, 'wx', 0o600);
    try {
      original.fs.writeSync(fd, original.crypto().randomBytes(KEY_BYTES));
    } finally {
      original.fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch {
      // another process made it first: use theirs
    }
    fs.unlinkSync(tmp);
  } catch {
    return null;
  }
  return read();
}

export const SIGNATURE_EXT = '.sig';
const SIG_PREFIX = 'rewind-signature 1 hmac-sha256 ';

/** Whether a and b are equal, in a time that does not depend on where they differ. */
function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Signs a log's preamble (signature, version, header) into `<log>.sig`. Unsigned if there is no key to be had. */
export function signLog(log: string, preamble: Uint8Array): void {
  const key = signingKey(true);
  if (!key) return;
  try {
    // Made before the file: a thread stopped between the two (its process ending) left it
    // empty while the hash of a large header was computed.
    const text = `${SIG_PREFIX}${hmacSha256Hex(key, preamble)}\n`;
    const fd = original.fs.openSync(log + SIGNATURE_EXT, 'wx', 0o600);
    try {
      original.fs.writeSync(fd, text);
    } finally {
      original.fs.closeSync(fd);
    }
  } catch {
    // an unsigned log is merely not trusted by default
  }
}

/** Whether `<log>.sig` is this user's signature of the log's preamble. */
export function signedByMe(log: string, preamble: Uint8Array): boolean {
  const key = signingKey(false);
  if (!key) return false;
  let text: string;
  try {
    const sig = log + SIGNATURE_EXT;
    if (!fs.lstatSync(sig).isFile()) return false;
    text = fs.readFileSync(sig, 'latin1');
  } catch {
    return false;
  }
  if (text.length > 200 || !text.startsWith(SIG_PREFIX)) return false;
  const given = Buffer.from(text.slice(SIG_PREFIX.length).trim(), 'hex');
  const want = Buffer.from(hmacSha256Hex(key, preamble), 'hex');
  return equalInConstantTime(given, want);
}

// ---- what the start-up of a recorded process would run ----

/**
 * Flags that only tune Node or V8 and load nothing: applied from any recording. Every other
 * flag (notably --require/-r, --import, --loader, --experimental-loader, -e/--eval,
 * -p/--print, --env-file, --experimental-policy, --openssl-config, --snapshot-blob,
 * --inspect*, --redirect-warnings, --test-reporter with a module) needs trust.
 * The value is whether the flag takes a value as the next argument.
 */
const SAFE_FLAGS = new Map<string, boolean>([
  ...[
    '--max-old-space-size',
    '--max-semi-space-size',
    '--stack-size',
    '--stack-trace-limit',
    '--unhandled-rejections',
    '--disable-warning',
    '--input-type',
    '--experimental-default-type',
    '--conditions',
    '-C',
    '--dns-result-order',
    '--title',
    '--v8-pool-size',
    '--max-http-header-size',
    '--test-name-pattern',
    '--test-skip-pattern',
    '--test-concurrency',
    '--test-timeout',
    '--test-shard',
    '--secure-heap',
    '--secure-heap-min',
  ].map((f) => [f, true] as const),
  ...[
    '--enable-source-maps',
    '--no-warnings',
    '--no-deprecation',
    '--trace-warnings',
    '--trace-deprecation',
    '--throw-deprecation',
    '--pending-deprecation',
    '--trace-uncaught',
    '--trace-exit',
    '--trace-sigint',
    '--expose-gc',
    '--expose_gc',
    '--preserve-symlinks',
    '--preserve-symlinks-main',
    '--experimental-vm-modules',
    '--experimental-strip-types',
    '--no-experimental-strip-types',
    '--experimental-transform-types',
    '--experimental-require-module',
    '--no-experimental-require-module',
    '--experimental-detect-module',
    '--no-experimental-detect-module',
    '--experimental-wasm-modules',
    '--experimental-json-modules',
    '--experimental-import-meta-resolve',
    '--experimental-websocket',
    '--no-experimental-websocket',
    '--no-experimental-fetch',
    '--no-experimental-global-navigator',
    '--experimental-global-webcrypto',
    '--experimental-sqlite',
    '--no-experimental-sqlite',
    '--abort-on-uncaught-exception',
    '--frozen-intrinsics',
    '--disallow-code-generation-from-strings',
    '--no-addons',
    '--force-context-aware',
    '--zero-fill-buffers',
    '--jitless',
    '--insecure-http-parser',
    '--tls-min-v1.0',
    '--tls-min-v1.1',
    '--tls-min-v1.2',
    '--tls-min-v1.3',
    '--tls-max-v1.2',
    '--tls-max-v1.3',
    '--use-openssl-ca',
    '--use-bundled-ca',
    '--test',
    '--test-only',
    '--test-force-exit',
    '--experimental-test-coverage',
    '--experimental-test-isolation',
    '--no-experimental-test-isolation',
    '--experimental-test-module-mocks',
    '--experimental-test-snapshots',
    '--no-node-snapshot',
    '--no-global-search-paths',
    '--no-extra-info-on-fatal-exception',
  ].map((f) => [f, false] as const),
]);

/** Test reporters built into Node: naming one loads no module. */
const BUILTIN_REPORTERS = new Set(['spec', 'tap', 'dot', 'junit', 'lcov']);

/** Variables with which a recording could make Node or the C library load code of its choosing: never applied untrusted. */
const CODE_VARS = [
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'LD_PRELOAD',
  'LD_AUDIT',
  'LD_LIBRARY_PATH',
  'DYLD_INSERT_LIBRARIES',
  'DYLD_LIBRARY_PATH',
  'DYLD_FRAMEWORK_PATH',
  'OPENSSL_CONF',
  'OPENSSL_MODULES',
  'OPENSSL_ENGINES',
  'GCONV_PATH',
];
/**
 * Variables that change Node's or the C library's start-up in other ways (files read or
 * written, data loaded): not applied at an untrusted replay's start-up, which needs none of
 * them (the program still reads their recorded values).
 */
const STARTUP_VARS = [
  'NODE_EXTRA_CA_CERTS',
  'NODE_ICU_DATA',
  'NODE_V8_COVERAGE',
  'NODE_REDIRECT_WARNINGS',
  'NODE_COMPILE_CACHE',
  'NODE_REPL_HISTORY',
  'NODE_DEBUG_NATIVE',
  'NODE_UNIQUE_ID',
  'NODE_CHANNEL_FD',
  'NODE_CHANNEL_SERIALIZATION_MODE',
  'GLIBC_TUNABLES',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'TZDIR',
];
const isCodeVar = (k: string): boolean => CODE_VARS.includes(k);
const isStartupVar = (k: string): boolean => STARTUP_VARS.includes(k) || /^(LD|DYLD)_/.test(k) || /^MALLOC_/.test(k);

/** The Node flags a process started with: its execArgv, then its NODE_OPTIONS. */
export const nodeFlags = (execArgv: readonly string[], env: NodeJS.ProcessEnv | Record<string, string>): string[] => [
  ...execArgv,
  ...splitNodeOptions(env.NODE_OPTIONS ?? ''),
];

/** Splits NODE_OPTIONS as Node does: on white space, with "double quotes" and backslash escapes. */
export function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted && ch === '\\' && i + 1 < value.length) {
      cur += value[++i];
    } else if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Joins tokens into a NODE_OPTIONS value that splitNodeOptions splits back into them. */
const joinNodeOptions = (tokens: readonly string[]): string =>
  tokens.map((t) => (/[\s"\\]/.test(t) ? `"${t.replace(/(["\\])/g, '\\$1')}"` : t)).join(' ');

/** Splits flags into the ones safe to apply and the ones (each with its value) that need trust. */
export function sortFlags(args: readonly string[]): { safe: string[]; guarded: string[][] } {
  const safe: string[] = [];
  const guarded: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const takesValue = SAFE_FLAGS.get(name);
    const reporter = name === '--test-reporter' && eq > 0 && BUILTIN_REPORTERS.has(a.slice(eq + 1));
    if (takesValue !== undefined || reporter) {
      safe.push(a);
      if (takesValue && eq < 0 && i + 1 < args.length) safe.push(args[++i]);
      continue;
    }
    // Anything else, with the value that follows it (a value never starts with '-', as
    // execArgv and NODE_OPTIONS hold no script name; -e/-p sources may, so they take one always).
    const item = [a];
    if (
      eq < 0 &&
      i + 1 < args.length &&
      (/^(-e|--eval|-p|--print|-pe|-r|--require|--import|--loader|--experimental-loader)$/.test(a) ||
        !args[i + 1].startsWith('-'))
    )
      item.push(args[++i]);
    guarded.push(item);
  }
  return { safe, guarded };
}

/**
 * Start-up options with which Node itself (not the program's JS, which replay serves) writes
 * files or opens ports: coverage, profiles, trace events, diagnostic reports, heap
 * snapshots, an inspector. A replay starts without them, trusted or not: it performs no
 * external effect. `--env-file` is left out too: the program reads its recorded environment,
 * and the file may be gone. The program still reads the recorded values (execArgv, env).
 */
const EFFECT_VARS = ['NODE_V8_COVERAGE', 'NODE_COMPILE_CACHE'];
const EFFECT_FLAGS = new Map<string, boolean>([
  ...[
    '--cpu-prof-dir',
    '--cpu-prof-name',
    '--cpu-prof-interval',
    '--heap-prof-dir',
    '--heap-prof-name',
    '--heap-prof-interval',
    '--trace-event-categories',
    '--trace-event-file-pattern',
    '--diagnostic-dir',
    '--report-signal',
    '--report-dir',
    '--report-directory',
    '--report-filename',
    '--heapsnapshot-signal',
    '--heapsnapshot-near-heap-limit',
    '--env-file',
    '--env-file-if-exists',
    '--inspect-port',
    '--debug-port',
    '--logfile',
  ].map((f) => [f, true] as const),
  ...[
    '--cpu-prof',
    '--heap-prof',
    '--prof',
    '--trace-events-enabled',
    '--report-on-signal',
    '--report-uncaught-exception',
    '--report-on-fatalerror',
    '--report-compact',
    '--inspect',
    '--inspect-brk',
    '--inspect-wait',
  ].map((f) => [f, false] as const),
]);

/** `args` without the options with which Node would write files or listen at start-up (see EFFECT_FLAGS). */
export function withoutEffects(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const takesValue = EFFECT_FLAGS.get(eq > 0 ? a.slice(0, eq) : a);
    if (takesValue === undefined) out.push(a);
    else if (takesValue && eq < 0) i++; // and its value
  }
  return out;
}

/** A replay's start-up environment without the variables and NODE_OPTIONS with which Node would write files. */
export function envWithoutEffects(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const k of EFFECT_VARS) delete out[k];
  if (out.NODE_OPTIONS) {
    out.NODE_OPTIONS = joinNodeOptions(withoutEffects(splitNodeOptions(out.NODE_OPTIONS)));
  }
  return out;
}

/**
 * NODE_OPTIONS with what only tunes Node or V8 (see SAFE_FLAGS) and writes no file: what a
 * replay applies of options the recording hands it without review (a worker thread's own).
 */
export function harmlessNodeOptions(value: string | undefined): string {
  return joinNodeOptions(withoutEffects(sortFlags(splitNodeOptions(value ?? '')).safe));
}

/** What an untrusted recording's start-up would apply, and what replay applies without trust. */
export interface StartupReview {
  /** Flags to pass to node (execArgv), without the guarded ones. */
  execArgv: string[];
  /** The environment to start with (recorded), without the guarded variables. */
  env: Record<string, string>;
  /** What would run code: shown, and applied only with trust. */
  code: string[];
  /** Start-up variables left out (the program still reads their recorded values). */
  skipped: string[];
}

/** Reviews a recorded process's start-up: what it would run, what is safe to apply. */
export function reviewStartup(h: TraceHeader, nodeOptionsWithoutPreload: string): StartupReview {
  const code: string[] = [];
  const skipped: string[] = [];
  const flags = sortFlags(h.execArgv);
  for (const g of flags.guarded) code.push(`node option ${g.map(quote).join(' ')}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.env)) {
    if (k === 'NODE_OPTIONS') continue;
    if (isCodeVar(k)) code.push(`${k}=${quote(v)}`);
    else if (isStartupVar(k)) skipped.push(k);
    else env[k] = v;
  }
  const opts = sortFlags(splitNodeOptions(nodeOptionsWithoutPreload));
  for (const g of opts.guarded) code.push(`NODE_OPTIONS ${g.map(quote).join(' ')}`);
  if (opts.safe.length) env.NODE_OPTIONS = joinNodeOptions(opts.safe);
  return { execArgv: flags.safe, env, code, skipped };
}

/** A value as shown to the user: JSON-quoted when it holds anything but plain characters. */
const quote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : JSON.stringify(v));
