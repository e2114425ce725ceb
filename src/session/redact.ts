// Redaction: a copy of a recording without its secrets, to share it.
//
// The secrets are found by rules: environment variables whose names say they hold one
// (KEY, TOKEN, SECRET, PASSWORD, PASS, AUTH, CREDENTIAL, PRIVATE), command-line options so
// named (--token=…), HTTP headers that carry credentials (Authorization, Cookie, Set-Cookie,
// Proxy-Authorization, X-Api-Key) in any bytes the program read, the values in `.env*`,
// `.npmrc` and `~/.aws/credentials` (as they are on this disk), well-known token formats
// (GitHub, AWS key ids, Slack, JWTs, private-key blocks), and the user's own rules.
//
// Each secret is replaced, wherever its bytes occur (header, argv, env, every event's
// bytes: reads, file contents, output), by a placeholder of the same length — the same one
// for the same secret — so that lengths, offsets and the log's framing stay valid and the
// program replays faithfully wherever it does not compute on the secret.
import fs from 'node:fs';
import path from 'node:path';
import { CHUNK_HEADER_BYTES, MAGIC, type TraceHeader } from '../trace/format.js';
import { TraceReader, type TraceFile } from '../trace/reader.js';
import { COMPRESSED, decompressPayload } from '../trace/compress.js';
import { compressedChunk } from '../trace/compressor.js';
import { encodeChunk, encodePreamble } from '../trace/writer.js';
import { signLog, signedByMe } from './trust.js';

export const DEFAULT_NAME_WORDS = ['KEY', 'TOKEN', 'SECRET', 'PASSWORD', 'PASS', 'AUTH', 'CREDENTIAL', 'PRIVATE'];
export const DEFAULT_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'];
export const DEFAULT_FILES = ['.env*', '.npmrc', '~/.aws/credentials'];
const DEFAULT_PATTERNS = [
  /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];
/** Shorter values are replaced where their name says they are secret (env, an option, a header), not wherever their bytes occur. */
export const MIN_SECRET_LENGTH = 6;

export interface RedactRules {
  /** Words that make an environment variable's or an option's name a secret's (case-insensitive). */
  nameWords: string[];
  /** HTTP header names (lower case) whose values are secrets. */
  headers: string[];
  /** File names (a trailing * matches any ending; ~/ is the recorded HOME) whose values are secrets. */
  files: string[];
  /** Patterns whose matches are secrets, in any text the recording holds. */
  patterns: RegExp[];
  /** Literal secrets. */
  literals: string[];
  /** The rules as the user gave them, for `rewind info`. */
  names: string[];
}

/**
 * The rules: the defaults, plus RULES, a comma-separated list of `env:WORD` (a word of
 * secret variable and option names), `header:NAME`, `file:NAME`, `re:REGEX`, `value:TEXT`;
 * `no-defaults` drops the defaults.
 */
export function parseRules(spec: string | undefined): RedactRules {
  const items = (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const defaults = !items.includes('no-defaults');
  const rules: RedactRules = {
    nameWords: defaults ? [...DEFAULT_NAME_WORDS] : [],
    headers: defaults ? [...DEFAULT_HEADERS] : [],
    files: defaults ? [...DEFAULT_FILES] : [],
    patterns: defaults ? [...DEFAULT_PATTERNS] : [],
    literals: [],
    names: defaults ? ['default'] : [],
  };
  for (const item of items) {
    if (item === 'no-defaults' || item === 'default') continue;
    const m = /^(env|header|file|re|value):(.+)$/.exec(item);
    if (!m)
      throw new RangeError(
        `${JSON.stringify(item)} is not a redaction rule: use env:WORD, header:NAME, file:NAME, re:REGEX or value:TEXT (comma-separated)`,
      );
    const [, kind, arg] = m;
    if (kind === 'env') rules.nameWords.push(arg.toUpperCase());
    else if (kind === 'header') rules.headers.push(arg.toLowerCase());
    else if (kind === 'file') rules.files.push(arg);
    else if (kind === 'value') rules.literals.push(arg);
    else {
      try {
        rules.patterns.push(new RegExp(arg, 'g'));
      } catch (e) {
        throw new RangeError(`re:${arg} is not a regular expression (${(e as Error).message})`, { cause: e });
      }
    }
    rules.names.push(kind === 'value' ? 'value:…' : item);
  }
  return rules;
}

const secretName = (name: string, rules: RedactRules): boolean =>
  rules.nameWords.some((w) => name.toUpperCase().includes(w));

/** The secrets of a recording and their placeholders. */
export class Secrets {
  readonly map = new Map<string, string>();
  /** Values replaced only where their name says so (too short to replace in any bytes). */
  readonly named = new Map<string, string>();

  add(value: string, anywhere = true): void {
    if (!value || this.map.has(value) || this.named.has(value)) return;
    const placeholder = this.placeholder(value);
    if (anywhere && Buffer.byteLength(value) >= MIN_SECRET_LENGTH) this.map.set(value, placeholder);
    else this.named.set(value, placeholder);
  }

  /** `<redacted:N>`, or `#N`, padded with '*' to the secret's length in bytes. */
  private placeholder(value: string): string {
    const n = this.map.size + this.named.size + 1;
    const len = Buffer.byteLength(value);
    const long = `<redacted:${n}>`;
    const base = long.length <= len ? long : `#${n}`.slice(0, len);
    return base.padEnd(len, '*');
  }

  /** `text` with every secret replaced. */
  text(text: string): string {
    let out = text;
    for (const [s, p] of this.longestFirst()) if (out.includes(s)) out = out.split(s).join(p);
    return out;
  }

  /** A value found under a secret's name: replaced whole, whatever its length. */
  whole(value: string): string {
    return this.map.get(value) ?? this.named.get(value) ?? this.text(value);
  }

  /** Replaces every secret's bytes in `b`, in place (placeholders have the secret's length). */
  bytes(b: Buffer): number {
    let count = 0;
    for (const [s, p] of this.longestFirst()) {
      const needle = Buffer.from(s);
      const with_ = Buffer.from(p);
      for (let i = b.indexOf(needle); i >= 0; i = b.indexOf(needle, i + needle.length)) {
        with_.copy(b, i);
        count++;
      }
    }
    return count;
  }

  private sorted: [string, string][] | null = null;
  private longestFirst(): [string, string][] {
    if (!this.sorted || this.sorted.length !== this.map.size)
      this.sorted = [...this.map].sort((a, b) => b[0].length - a[0].length);
    return this.sorted;
  }
}

/** The values of a credentials file: every assignment of `.env` files, those under secret names elsewhere. */
function fileSecrets(file: string, all: boolean, rules: RedactRules, secrets: Secrets): void {
  let text: string;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.size > 1 << 20) return;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([^#=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const value = m[2].replace(/^(['"])(.*)\1$/, '$2');
    if (value && (all || secretName(m[1], rules))) secrets.add(value);
  }
}

const fileRuleMatches = (rule: string, base: string): boolean =>
  rule.endsWith('*') ? base.startsWith(rule.slice(0, -1)) : base === rule;

/** Finds the secrets of the logs: in their headers, in the bytes they hold, in credentials files on this disk. */
export function findSecrets(traces: TraceFile[], rules: RedactRules): Secrets {
  const secrets = new Secrets();
  for (const lit of rules.literals) secrets.add(lit);
  const texts: string[] = [];
  const paths = new Set<string>();
  for (const t of traces) {
    const h = t.header;
    for (const [k, v] of Object.entries(h.env)) if (secretName(k, rules)) secrets.add(v, true);
    const args = [...h.argv, ...h.execArgv];
    for (let i = 0; i < args.length; i++) {
      const m = /^--?([A-Za-z0-9_.-]+)(?:=(.*))?$/.exec(args[i]);
      if (!m || !secretName(m[1].replace(/-/g, '_'), rules)) continue;
      if (m[2] !== undefined) secrets.add(m[2]);
      else if (i + 1 < args.length && !args[i + 1].startsWith('-')) secrets.add(args[++i]);
    }
    texts.push(...Object.values(h.env), ...args);
    // Credentials files: next to the program, in its HOME, and any the program named.
    const home = h.env.HOME;
    for (const rule of rules.files) {
      if (rule.startsWith('~/')) {
        if (home) paths.add(path.join(home, rule.slice(2)));
      } else if (rule.endsWith('*')) {
        try {
          for (const f of fs.readdirSync(h.cwd)) if (fileRuleMatches(rule, f)) paths.add(path.join(h.cwd, f));
        } catch {
          // the recorded directory is not on this machine
        }
      } else {
        paths.add(path.join(h.cwd, rule));
        if (home) paths.add(path.join(home, rule));
      }
    }
    for (const ev of TraceReader.events(t)) {
      if (ev.data) texts.push(Buffer.from(ev.data).toString('latin1'));
      if (ev.call) collectStrings(ev.call, texts, 0);
      if (ev.payload !== undefined) collectStrings(ev.payload, texts, 0);
    }
  }
  for (const text of texts) {
    if (text.length > 3 && /[\\/]/.test(text) && !text.includes('\n')) {
      const base = path.basename(text);
      if (rules.files.some((r) => fileRuleMatches(r.startsWith('~/') ? path.basename(r) : r, base))) paths.add(text);
    }
    // HTTP headers that carry credentials, in any bytes read or written.
    if (rules.headers.length && /:/.test(text)) {
      const re = /^([A-Za-z0-9-]+):[ \t]*([^\r\n]+?)[ \t]*\r?$/gm;
      for (let m; (m = re.exec(text));) {
        if (!rules.headers.includes(m[1].toLowerCase())) continue;
        secrets.add(m[2]);
        const scheme = /^(?:Bearer|Basic|Token|Digest)\s+(\S+)$/i.exec(m[2]);
        if (scheme) secrets.add(scheme[1]);
        if (/cookie/i.test(m[1]))
          for (const pair of m[2].split(';')) {
            const v = pair.split('=').slice(1).join('=').trim();
            if (v) secrets.add(v);
          }
      }
    }
    for (const re of rules.patterns) for (const m of text.matchAll(re)) secrets.add(m[0]);
  }
  for (const p of paths) fileSecrets(p, path.basename(p).startsWith('.env'), rules, secrets);
  return secrets;
}

/** Every string (and the text of every byte array) inside a decoded value. */
function collectStrings(v: unknown, out: string[], depth: number): void {
  if (depth > 20) return;
  if (typeof v === 'string') out.push(v);
  else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('latin1'));
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out, depth + 1);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, out, depth + 1);
}

/** The header with its secrets replaced, and marked redacted. */
function redactHeader(h: TraceHeader, secrets: Secrets, rules: RedactRules): TraceHeader {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.env)) env[k] = secretName(k, rules) ? secrets.whole(v) : secrets.text(v);
  const args = (list: string[]) =>
    list.map((a) =>
      secrets.named.has(a)
        ? secrets.named.get(a)!
        : secrets
            .text(a)
            .replace(/^(--?[^=]+=)(.*)$/, (all, flag: string, v: string) => flag + (secrets.named.get(v) ?? v)),
    );
  return {
    ...h,
    argv: args(h.argv),
    execArgv: args(h.execArgv),
    env,
    title: secrets.text(h.title),
    cwd: secrets.text(h.cwd),
    redacted: { rules: rules.names, secrets: secrets.map.size + secrets.named.size },
  };
}

/**
 * A log with its secrets replaced: the header re-encoded, every chunk's events replaced and
 * re-framed (a compressed chunk is decompressed first, and compressed again).
 */
export function redactLog(
  bytes: Buffer,
  t: TraceFile,
  secrets: Secrets,
  rules: RedactRules,
): { log: Buffer; replaced: number } {
  const parts: Buffer[] = [encodePreamble(redactHeader(t.header, secrets, rules))];
  const headerBytes = CHUNK_HEADER_BYTES;
  const version = bytes[MAGIC.length];
  const compressed = (b: Uint8Array) => version >= 3 && b.length > 0 && b[0] === COMPRESSED;
  let p = t.preamble.length;
  let seq = 0;
  let replaced = 0;
  while (p + headerBytes <= bytes.length) {
    const len = bytes.readUInt32LE(p);
    const stored = bytes.subarray(p + headerBytes, p + headerBytes + len);
    if (stored.length < len) {
      // A killed process's cut-off last chunk: kept, redacted, still cut off (by one byte, if it was compressed).
      const payload = Buffer.from(compressed(stored) ? decompressPayload(stored, true, version) : stored);
      replaced += secrets.bytes(payload);
      const c = encodeChunk(seq, payload);
      c.writeUInt32LE(compressed(stored) ? payload.length + 1 : len, 0);
      parts.push(c);
      break;
    }
    const payload = Buffer.from(compressed(stored) ? decompressPayload(stored, false, version) : stored);
    replaced += secrets.bytes(payload);
    const c = compressedChunk(payload, headerBytes);
    parts.push(c === null ? encodeChunk(seq++, payload) : encodeChunk(seq++, c.subarray(headerBytes)));
    p += headerBytes + len;
  }
  return { log: Buffer.concat(parts), replaced };
}

export interface RedactResult {
  logs: number;
  secrets: number;
  /** Occurrences replaced in the logs' events. */
  replaced: number;
}

/**
 * Writes a redacted copy of the recording in `src` (its logs and index.json; nothing else)
 * into `dst`, a new or empty directory. A copy of a recording this user signed is signed.
 */
export function redactRecording(src: string, dst: string, rules: RedactRules): RedactResult {
  const logs = fs
    .readdirSync(src)
    .filter((f) => f.endsWith('.rwnd'))
    .map((f) => path.join(src, f));
  const traces = logs.map((l) => TraceReader.open(l));
  const secrets = findSecrets(traces, rules);
  fs.mkdirSync(dst, { recursive: true, mode: 0o700 });
  let replaced = 0;
  for (const t of traces) {
    const { log: out, replaced: n } = redactLog(fs.readFileSync(t.path), t, secrets, rules);
    replaced += n;
    const file = path.join(dst, path.basename(t.path));
    fs.writeFileSync(file, out, { mode: 0o600, flag: 'wx' });
    if (signedByMe(t.path, t.preamble)) signLog(file, TraceReader.open(file, { streamed: true }).preamble);
  }
  const index = path.join(src, 'index.json');
  if (fs.existsSync(index)) {
    const o = JSON.parse(fs.readFileSync(index, 'utf8')) as { command?: string[] };
    if (Array.isArray(o.command)) o.command = o.command.map((a) => secrets.named.get(a) ?? secrets.text(a));
    fs.writeFileSync(path.join(dst, 'index.json'), `${JSON.stringify(o, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { logs: traces.length, secrets: secrets.map.size + secrets.named.size, replaced };
}
