// Mutated recordings, and the read-side of every command run on them in-process: shared by
// the fuzz test in `npm test` (test/fuzz.test.ts) and the longer run (`npm run fuzz`).
// A mutant is a recording directory (one .rwnd log and index.json) made from a valid one by
// changing header fields to values of the wrong type or range, changing index.json, and
// duplicating, dropping, reordering, cutting or corrupting chunks.
// Uses the built rewind (dist/).
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { TraceReader, TraceError } from '../dist/trace/reader.js';
import { encodeChunk, encodePreamble } from '../dist/trace/writer.js';
import { CHUNK_HEADER_BYTES } from '../dist/trace/format.js';
import { CliError, resolveRecording } from '../dist/cli/recordings.js';
import { events } from '../dist/cli/events.js';
import { info } from '../dist/cli/info.js';
import { ps } from '../dist/cli/ps.js';
import { replayCommand } from '../dist/cli/replay.js';

/** A valid log taken apart: its header and its chunks' payloads. */
export function takeApart(bytes) {
  const t = TraceReader.parse(bytes);
  const chunks = [];
  let p = t.preamble.length;
  while (p + CHUNK_HEADER_BYTES <= bytes.length) {
    const len = bytes.readUInt32LE(p);
    chunks.push(Buffer.from(bytes.subarray(p + CHUNK_HEADER_BYTES, p + CHUNK_HEADER_BYTES + len)));
    p += CHUNK_HEADER_BYTES + len;
  }
  return { header: t.header, chunks };
}

/** Values of every type, and the nasty ones of each. */
const nasty = fc.oneof(
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    2 ** 53,
    2 ** 32,
    -(2 ** 31),
    1.5,
    '',
    'a\0b',
    '\u001b]0;x\u0007',
    '../../etc',
    '/dev/zero',
    [],
    {},
    null,
    true,
    false,
    [1, 2],
    { serialization: 'evil' },
    'SIGFOO',
    'SIGKILL',
  ),
  fc.anything({ maxDepth: 2, maxKeys: 3, withNullPrototype: false }),
);

/** A path into the header to change: a top-level field, or one inside env, entry, stdio, argv. */
const headerPath = (header) =>
  fc.oneof(
    fc.constantFrom(
      ...Object.keys(header).map((k) => [k]),
      ['entry', 'path'],
      ['entry', 'sha256'],
      ['stdio', 'stdin'],
      ['stdio', 'stdout', 'isTTY'],
      ['stdio', 'stdin', 'kind'],
      ['monoBase', 0],
      ['randomSeed', 3],
      ['argv', 0],
      ['argv', 1],
      ['execArgv', 0],
      ['ipc'],
      ['ipc', 'serialization'],
      ['chaos'],
      ['threadId'],
    ),
    fc.string({ minLength: 0, maxLength: 6 }).map((k) => ['env', k]),
  );

function setIn(obj, keys, value) {
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

const chunkOp = fc.oneof(
  fc.record({ op: fc.constant('dup'), i: fc.nat() }),
  fc.record({ op: fc.constant('drop'), i: fc.nat() }),
  fc.record({ op: fc.constant('swap'), i: fc.nat(), j: fc.nat() }),
  fc.record({ op: fc.constant('flip'), i: fc.nat(), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }),
);

/** How one mutant differs from the valid recording. */
export function mutationArb(header) {
  // Each kind of damage in a minority of mutants, so that many carry one or two kinds and
  // some carry none that matters: both the readers' refusals and their normal paths are run.
  const rarely = (arb, weight = 3) =>
    fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
  return fc.record({
    header: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(fc.tuple(headerPath(header), nasty), { minLength: 1, maxLength: 2 }) },
    ),
    chunks: fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(chunkOp, { minLength: 1, maxLength: 3 }) },
    ),
    /** Rewrite the chunk framing as the writer would (sequence numbers, checksums) after the changes, or keep it raw. */
    reframe: fc.boolean(),
    /** Overwrite a chunk header field (length, checksum, sequence) with any u32. */
    field: rarely(
      fc.record({
        i: fc.nat(),
        at: fc.constantFrom(0, 4, 8),
        v: fc.oneof(fc.constantFrom(0, 2 ** 30 - 1, 2 ** 30, 2 ** 32 - 1), fc.nat()),
      }),
    ),
    cut: rarely(fc.nat()),
    index: rarely(
      fc.oneof(
        fc.tuple(fc.constantFrom('command', 'cwd', 'started', 'ended', 'status', 'chaos', 'run'), nasty),
        fc.constant('garbage'),
      ),
    ),
  });
}

/** Builds a mutant's files from the valid log's parts and its index.json text. */
export function buildMutant(parts, indexText, m) {
  const header = structuredClone(parts.header);
  for (const [keys, value] of m.header) setIn(header, keys, value);
  let chunks = parts.chunks.map((c) => Buffer.from(c));
  const seqs = chunks.map((_, i) => i);
  for (const c of m.chunks) {
    if (chunks.length === 0) break;
    const i = c.i % chunks.length;
    if (c.op === 'dup') {
      chunks.splice(i, 0, chunks[i]);
      seqs.splice(i, 0, seqs[i]);
    } else if (c.op === 'drop') {
      chunks.splice(i, 1);
      seqs.splice(i, 1);
    } else if (c.op === 'swap') {
      const j = c.j % chunks.length;
      [chunks[i], chunks[j]] = [chunks[j], chunks[i]];
      [seqs[i], seqs[j]] = [seqs[j], seqs[i]];
    } else if (c.op === 'flip' && chunks[i].length) {
      chunks[i] = Buffer.from(chunks[i]);
      chunks[i][c.at % chunks[i].length] ^= c.x;
    }
  }
  let preamble;
  try {
    preamble = encodePreamble(header);
  } catch {
    preamble = encodePreamble(parts.header); // a value msgpack cannot hold: keep the header
  }
  const framed = chunks.map((c, k) => encodeChunk(m.reframe ? k : seqs[k], c));
  if (m.field && framed.length) {
    const f = framed[m.field.i % framed.length];
    f.writeUInt32LE(m.field.v >>> 0, m.field.at);
  }
  let log = Buffer.concat([preamble, ...framed]);
  if (m.cut !== undefined) log = log.subarray(0, m.cut % (log.length + 1));
  let index = indexText;
  if (m.index === 'garbage') index = '{"command": [';
  else if (m.index) {
    const o = JSON.parse(indexText);
    o[m.index[0]] = m.index[1];
    index = JSON.stringify(o) ?? 'null';
  }
  return { log, index };
}

/** Writes a mutant as a recording directory. */
export function writeMutant(dir, mutant) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app-1.rwnd'), mutant.log);
  fs.writeFileSync(path.join(dir, 'index.json'), mutant.index);
}

export const COMMANDS = ['info', 'ps', 'events', 'replay'];

/**
 * Runs a command's reading side in this process, its output discarded: `replay` up to the
 * point where it would start the process. 'ok', 'refused' (a message for the user, with its
 * exit status) or 'internal' (anything else: a bug).
 */
export async function runInProcess(cmd, dir) {
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    if (cmd === 'info') info(dir);
    else if (cmd === 'ps') ps(dir, {});
    else if (cmd === 'events') await events(dir, { sites: false });
    else replayCommand(resolveRecording(dir), {});
    return { outcome: 'ok' };
  } catch (e) {
    if (e instanceof CliError) return { outcome: 'refused', status: e.code, message: e.message };
    if (e instanceof TraceError) return { outcome: 'refused', status: 65, message: e.message };
    return { outcome: 'internal', message: `${e?.stack ?? e}` };
  } finally {
    process.stdout.write = write;
  }
}
