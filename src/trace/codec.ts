// Low-level encoding shared by TraceWriter and TraceReader.
// 'msgpackr/pack' is the pure-JS build: the main entry also loads a native addon, which
// costs ~15 ms of startup in every recorded process and gains nothing at our payload sizes.
// keep-bom first: msgpackr makes its string decoder as it loads (a BOM kept, see there).
import { restoreTextDecoder } from './keep-bom.js';
import { isAscii } from 'node:buffer';
import { Packr } from 'msgpackr/pack';

restoreTextDecoder();

// Records/structures off: every payload must decode on its own, in any order,
// from any prefix of the log.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export const pack = (value: unknown): Buffer => packr.pack(value);
export const unpack = (bytes: Uint8Array): unknown => packr.unpack(bytes);

/** The longest varint a reader accepts: 8 bytes hold 56 bits, enough for 2^53. */
export const MAX_VARINT_BYTES = 8;

/** Writes an unsigned varint (up to 2^53) at p, returns the new position. */
export function putVarint(b: Uint8Array, p: number, v: number): number {
  // Bit operations, not `%`: a clock's difference in ns is a double to V8, and `%` of a double
  // is a call into C (fmod); ToInt32 keeps an integer's low 32 bits exactly, up to 2^53.
  while (v >= 0x80000000) {
    b[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  let x = v | 0;
  while (x >= 0x80) {
    b[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  b[p++] = x;
  return p;
}

export const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);
export const unzigzag = (z: number): number => ((z & 1) === 0 ? z / 2 : -(z + 1) / 2);

/** Thrown by the decoder for anything that is not a well-formed event. */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /** True when the bytes simply ran out, as in a log cut short by a crash. */
    readonly truncated: boolean,
  ) {
    super(message);
  }
}

/** What ByteCursor.plain returns for a payload it leaves to msgpackr. */
const NOT_PLAIN = Symbol('not plain');
/** Up to this many bytes a loop compares faster than a native call (its checks and two views). */
const SHORT_COMPARE = 48;
// Taken as rewind loads, before the program can patch them: a replay decodes while it runs.
const NodeBuffer = Buffer;
const bufferView: (b: ArrayBufferLike, offset: number, n: number) => Buffer = Buffer.from;
const compareBytes: (a: Uint8Array, b: Uint8Array) => number = Buffer.compare;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice;

/** How deep skipMsgpack follows arrays and maps before it leaves a payload to msgpackr. */
const SKIP_DEPTH = 32;
const SKIP_BYTES = 16;
const SKIP_ARRAY = 32;
const SKIP_MAP = 64;
/**
 * For msgpack types 0xc0-0xdf: the width of what follows the type byte (a number's bytes, or
 * the big-endian count of a string's, a binary's, an array's or a map's items; `& 15`), with
 * what the count counts; 0 for nil and booleans (handled before), the unused 0xc1 and
 * extensions. Read by plain() and skipValue().
 */
const WIDTH = (() => {
  const w = new Uint8Array(32);
  const set = (t: number, width: number, what = 0) => (w[t - 0xc0] = width | what);
  [1, 2, 4].forEach((n, i) => {
    set(0xc4 + i, n, SKIP_BYTES); // bin 8/16/32
    set(0xd9 + i, n, SKIP_BYTES); // str 8/16/32
  });
  set(0xca, 4); // float 32, 64
  set(0xcb, 8);
  [1, 2, 4, 8].forEach((n, i) => {
    set(0xcc + i, n); // uint 8-64
    set(0xd0 + i, n); // int 8-64
  });
  set(0xdc, 2, SKIP_ARRAY);
  set(0xdd, 4, SKIP_ARRAY);
  set(0xde, 2, SKIP_MAP);
  set(0xdf, 4, SKIP_MAP);
  return w;
})();

/** A bounds-checked cursor over event bytes. */
export class ByteCursor {
  constructor(
    public b: Uint8Array,
    public pos = 0,
    public end = b.length,
  ) {}

  u8(): number {
    if (this.pos >= this.end) throw new DecodeError('unexpected end of data', this.pos, true);
    return this.b[this.pos++];
  }

  varint(): number {
    const b = this.b;
    let p = this.pos;
    if (p < this.end && b[p] < 0x80) {
      this.pos = p + 1;
      return b[p];
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (p >= this.end) throw new DecodeError('unexpected end of data in a number', p, true);
      const byte = b[p++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        this.pos = p;
        return v;
      }
      mul *= 0x80;
    }
    throw new DecodeError('number field too long', this.pos, false);
  }

  /** Moves past a field of `n` bytes; returns where it starts. */
  private field(n: number): number {
    const p = this.pos;
    if (n > this.end - p) throw new DecodeError(`field of ${n} bytes runs past the end`, p, true);
    this.pos = p + n;
    return p;
  }

  /** A little-endian 32-bit unsigned field. */
  u32(): number {
    const p = this.field(4);
    const b = this.b;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /**
   * `n` bytes, as a plain Uint8Array view of the log's memory (valid while the log's buffer
   * is: whoever keeps them copies). Not Buffer's own subarray, which is JavaScript and makes
   * a Buffer object (a replayed HTTP server, one per read: 0.8% of its instructions).
   */
  bytes(n: number): Uint8Array {
    const p = this.field(n);
    return new Uint8Array(this.b.buffer, this.b.byteOffset + p, n);
  }

  /**
   * Whether the next `n` bytes are the first `n` of `x`; moves past them when they are. A
   * replayed call's arguments are compared this way, packed, with the log's bytes in place.
   */
  equalBytes(x: Uint8Array, n: number): boolean {
    const p = this.pos;
    if (n > this.end - p || n > x.length) return false;
    const b = this.b;
    if (n <= SHORT_COMPARE) {
      for (let i = 0; i < n; i++) if (b[p + i] !== x[i]) return false;
    } else if (compareBytes(new Uint8Array(b.buffer, b.byteOffset + p, n), x.subarray(0, n)) !== 0) return false;
    this.pos = p + n;
    return true;
  }

  /** Where the value plain() decoded ends. */
  private plainEnd = 0;

  /**
   * The value at `p` (before `end`) when it is of the kinds most call results are (a number,
   * null, undefined, a boolean, ASCII text, bytes, a short array of those), decoded as msgpackr
   * decodes it, without msgpackr's set-up for each payload (a replayed fs call's result: its
   * fd, its bytes read, a file's text; close's undefined); NOT_PLAIN for anything else, which
   * msgpackr then decodes.
   */
  private plain(p: number, end: number, depth: number): unknown {
    const b = this.b;
    if (p >= end) return NOT_PLAIN;
    const t = b[p];
    let at = p + 1;
    let n: number;
    if (t < 0x80) {
      this.plainEnd = at;
      return t;
    }
    if (t >= 0xe0) {
      this.plainEnd = at;
      return t - 0x100;
    }
    if (t >= 0xa0 && t < 0xc0)
      n = t - 0xa0; // fixstr
    else if (t >= 0x90 && t < 0xa0) {
      if (depth > 0) return NOT_PLAIN;
      const a = new Array(t - 0x90);
      for (let i = 0; i < a.length; i++) {
        const x = this.plain(at, end, depth + 1);
        if (x === NOT_PLAIN) return NOT_PLAIN;
        a[i] = x;
        at = this.plainEnd;
      }
      this.plainEnd = at;
      return a;
    } else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          this.plainEnd = at;
          return t === 0xc0 ? null : t === 0xc3;
        case 0xd4: // fixext 1 of type 0: msgpackr's undefined (a call that returns nothing)
          if (at + 2 > end || b[at] !== 0) return NOT_PLAIN;
          this.plainEnd = at + 2;
          return undefined;
        case 0xcc: // uint 8, 16, 32
        case 0xcd:
        case 0xce: {
          const w = WIDTH[t - 0xc0];
          const v = this.beUint(at, w, end);
          if (v < 0) return NOT_PLAIN;
          this.plainEnd = at + w;
          return v;
        }
        case 0xc4: // bin 8, 16, 32 and str 8, 16, 32: their length, big-endian
        case 0xc5:
        case 0xc6:
        case 0xd9:
        case 0xda:
        case 0xdb: {
          const w = WIDTH[t - 0xc0] & 15;
          n = this.beUint(at, w, end);
          if (n < 0) return NOT_PLAIN;
          at += w;
          break;
        }
        default:
          return NOT_PLAIN;
      }
    }
    if (n > end - at) return NOT_PLAIN;
    this.plainEnd = at + n;
    if (t === 0xc4 || t === 0xc5 || t === 0xc6) {
      // msgpackr's bin is a view of its input, the log's own view here (see msgpack()).
      return b instanceof NodeBuffer
        ? bufferView(b.buffer, b.byteOffset + at, n)
        : new Uint8Array(b.buffer, b.byteOffset + at, n);
    }
    // Text: ASCII only, which every decoder reads alike; msgpackr reads the rest.
    if (!isAscii(new Uint8Array(b.buffer, b.byteOffset + at, n))) return NOT_PLAIN;
    return latin1Slice.call(b, at, at + n);
  }

  /** The big-endian unsigned number of `w` (1, 2 or 4) bytes at `at`; -1 if they pass `end`. */
  private beUint(at: number, w: number, end: number): number {
    if (at + w > end) return -1;
    let v = 0;
    for (let i = 0; i < w; i++) v = v * 256 + this.b[at + i];
    return v;
  }

  /**
   * Moves past the next length-prefixed msgpack payload when it is plainly well formed (nil,
   * undefined, booleans, numbers, text, bytes, and arrays and text-keyed maps of those, nested at most
   * SKIP_DEPTH deep, ending where its length says) and returns true; otherwise leaves the
   * cursor where it was and returns false, and msgpack() must decode it (and say what is
   * wrong). The checking scan of a log steps over call payloads this way without making their
   * values, which the replay makes as it meets them: whatever this accepts, msgpackr decodes.
   */
  skipMsgpack(): boolean {
    const start = this.pos;
    const n = this.varint();
    const p = this.pos;
    if (n <= this.end - p && this.skipValue(p, p + n, 0) === p + n) {
      this.pos = p + n;
      return true;
    }
    this.pos = start;
    return false;
  }

  /** The end of the plainly well-formed value at `p` (before `end`), or -1 (see skipMsgpack). */
  private skipValue(p: number, end: number, depth: number): number {
    if (p >= end) return -1;
    const t = this.b[p++];
    let items: number; // of an array; a map's are pairs, each key text
    let map = false;
    if (t < 0x80 || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return p;
    if (t === 0xd4) return p + 2 <= end && this.b[p] === 0 ? p + 2 : -1; // undefined, as in plain()
    if (t < 0x90) {
      items = t - 0x80;
      map = true;
    } else if (t < 0xa0) items = t - 0x90;
    else if (t < 0xc0) return p + (t - 0xa0) <= end ? p + (t - 0xa0) : -1;
    else {
      const w = WIDTH[t - 0xc0];
      if (w === 0) return -1; // never used, or an extension: msgpackr's to judge
      const v = this.beUint(p, w & 15, end);
      if (v < 0) return -1;
      p += w & 15;
      if (w & SKIP_BYTES) return v <= end - p ? p + v : -1;
      if (w & SKIP_MAP) map = true;
      else if (!(w & SKIP_ARRAY)) return p; // a number: its bytes were the width
      items = v;
    }
    if (depth >= SKIP_DEPTH) return -1;
    for (let i = 0; i < items && p >= 0; i++) {
      if (map) {
        const k = p < end ? this.b[p] : 0;
        if (!((k >= 0xa0 && k < 0xc0) || (k >= 0xd9 && k <= 0xdb))) return -1;
        p = this.skipValue(p, end, depth + 1);
        if (p < 0) return -1;
      }
      p = this.skipValue(p, end, depth + 1);
    }
    return p;
  }

  /** A varint length followed by that many bytes. */
  lengthPrefixed(): Uint8Array {
    return this.bytes(this.varint());
  }

  msgpack(): unknown {
    const start = this.pos;
    const n = this.varint();
    const p = this.field(n);
    const v = this.plain(p, p + n, 0);
    if (v !== NOT_PLAIN && this.plainEnd === p + n) return v;
    // The log's own view (a Buffer when the log is one): msgpackr gives binary fields the
    // type of its input, and the program's values (file contents...) are Buffers.
    const bytes = this.b.subarray(p, p + n);
    try {
      return unpack(bytes);
    } catch (e) {
      throw new DecodeError(`unreadable payload (${(e as Error).message})`, start, false);
    }
  }
}
