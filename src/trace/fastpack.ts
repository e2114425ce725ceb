// The fast path for the payloads of Call and Callback events: msgpack written straight into
// a reusable buffer, in one walk, for the shapes fs, dns and net calls produce (ASCII
// strings, numbers, booleans, null, undefined, arrays, plain objects, Buffers, Stats and Dirents).
// `value` writes what `pack(encodeValue(v))` would; `raw` what `pack(v)` would. Anything
// else (a Date, a bigint, an Error, a non-ASCII string, a cycle) makes it give
// up, and the caller takes the general path: what a reader decodes is the same either way.
// Recording a statSync went from about 2.5 µs of encoding to a few hundred ns.
import { pack } from './codec.js';
import { encodeValue, leafClassOf } from './values.js';

const MAX_DEPTH = 16;
/**
 * Shorter strings are copied char by char; longer ones (paths, file contents) are checked
 * to be ASCII and written natively: fewer steps while the packer is still interpreted (a
 * program's first few thousand calls), as fast once it is optimized.
 */
const SHORT_STRING = 12;
const NOT_ASCII = /[^\u0000-\u007f]/; // eslint-disable-line no-control-regex -- ASCII is 0 to 127
/**
 * From this length a string is checked by its UTF-8 length instead of the expression (one
 * byte a character exactly when all are ASCII), which Node counts natively: ~0.1 ns a
 * character and ~30 ns a call, the expression ~0.6 ns a character (1,024 characters: 0.15
 * against 0.63 µs; a file read as text goes through here whole). Below, the expression is
 * the cheaper.
 */
const COUNTED_STRING = 32;
const utf8Length: (s: string) => number = Buffer.byteLength; // taken before the program can patch it

/**
 * How a source packs a call's arguments itself: `pack` writes their summary straight into a
 * packer (false where it cannot), `summary` makes it (FastPacker.putWith).
 */
export interface ArgsPacking<S> {
  pack(f: FastPacker, subject: S): boolean;
  summary(subject: S): unknown;
}

/**
 * The arguments are their own summary, packed as `put(subject, false)` packs it: what a call
 * that makes its summary (Session.call) packs through callPacked's one path.
 */
export const AS_IS: ArgsPacking<unknown> = {
  pack(f, subject) {
    f.put(subject, false);
    return true;
  },
  summary: (subject) => subject,
};

export class FastPacker {
  buf = Buffer.allocUnsafe(16 * 1024);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  /** The same memory as a plain Uint8Array: its subarray is V8's own (Buffer's is JS, slow while cold). */
  private u8 = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    this.u8 = new Uint8Array(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }

  /** Bytes [from, to) of what was packed, as a view (valid until the next packing). */
  bytes(from: number, to: number): Uint8Array {
    return this.u8.subarray(from, to);
  }

  append(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /**
   * Appends msgpack of `v`, or of encodeValue(v) unless `encoded`: the fast way, or
   * msgpackr's where the fast one gives up. What the writer logs a payload as, and what a
   * replay packs a call's arguments as to compare them with the log's.
   */
  put(v: unknown, encoded: boolean): void {
    const start = this.pos;
    if (encoded ? this.raw(v) : this.value(v)) return;
    this.pos = start;
    this.append(pack(encoded ? v : encodeValue(v)));
  }

  /**
   * Appends what `put(args.summary(subject), false)` would, written by `args.pack(this,
   * subject)` where it can (no summary is made then): a call's arguments as a source
   * summarizes them, without the summary per call (the fs source's synchronous calls).
   */
  putWith<S>(args: ArgsPacking<S>, subject: S): void {
    const start = this.pos;
    if (args.pack(this, subject)) return;
    this.pos = start;
    this.put(args.summary(subject), false);
  }

  /** Appends `pack(encodeValue(v))`; false (with `pos` wherever it got) if it cannot. */
  value(v: unknown, depth = 0): boolean {
    if (v === null || typeof v !== 'object') return this.primitive(v);
    if (depth > MAX_DEPTH) return false;
    if (Array.isArray(v)) return this.array(v, depth, true);
    if (v instanceof Uint8Array) return this.bin(v);
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      if (Object.prototype.hasOwnProperty.call(v, 'constructor')) return false;
      return this.object(v as Record<string, unknown>, depth, true);
    }
    const cls = leafClassOf(v);
    if (cls === null) return false;
    this.header(1, 0x80, 0xde);
    return this.string(cls.name) && this.raw(cls.encode(v), depth + 1);
  }

  /** Appends `pack(v)`; false if it cannot. */
  raw(v: unknown, depth = 0): boolean {
    if (v === null || typeof v !== 'object') return this.primitive(v);
    if (depth > MAX_DEPTH) return false;
    if (Array.isArray(v)) return this.array(v, depth, false);
    // Any Uint8Array (msgpackr packs every typed array as bin when moreTypes is off): the
    // bytes a read brought, a stat's values, as the fs source stores them.
    if (v instanceof Uint8Array) return this.bin(v);
    if ((v as object).constructor === Object) return this.object(v as Record<string, unknown>, depth, false);
    return false;
  }

  /** Its items as `value` (`encode`) or `raw` writes them. */
  private array(a: unknown[], depth: number, encode: boolean): boolean {
    this.header(a.length, 0x90, 0xdc);
    for (let i = 0; i < a.length; i++)
      if (!(encode ? this.value(a[i], depth + 1) : this.raw(a[i], depth + 1))) return false;
    return true;
  }

  private object(o: Record<string, unknown>, depth: number, encode: boolean): boolean {
    const keys = Object.keys(o);
    this.header(keys.length, 0x80, 0xde);
    for (const k of keys) {
      // An own "__proto__" key: encodeValue's copy sets a prototype instead, and msgpackr
      // guards it on reading; the general path decides.
      if (k === '__proto__' || !this.string(k)) return false;
      if (!(encode ? this.value(o[k], depth + 1) : this.raw(o[k], depth + 1))) return false;
    }
    return true;
  }

  /** An array's header, for a caller that writes its `n` items itself (TraceWriter.returned). */
  arrayHeader(n: number): void {
    this.header(n, 0x90, 0xdc);
  }

  /** Appends a value that is not an object (null is one it takes); false if it cannot (a bigint, a symbol, non-ASCII text). */
  primitive(v: unknown): boolean {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        this.number(v);
        return true;
      case 'boolean':
        this.room(1);
        this.buf[this.pos++] = v ? 0xc3 : 0xc2;
        return true;
      case 'object': // null
        this.room(1);
        this.buf[this.pos++] = 0xc0;
        return true;
      case 'undefined': // as msgpackr writes it (fixext 1, type 0): what a close() or a void call returns
        this.room(3);
        this.buf[this.pos++] = 0xd4;
        this.buf[this.pos++] = 0;
        this.buf[this.pos++] = 0;
        return true;
      default:
        return false;
    }
  }

  /** fixarray/fixmap below 16 entries, else the 16-bit (`wide`) or 32-bit form. */
  private header(n: number, fix: number, wide: number): void {
    this.room(5);
    if (n < 16) this.buf[this.pos++] = fix | n;
    else this.length(n, wide);
  }

  /** Type `code16` and a 16-bit length, or the next type code and a 32-bit one. */
  private length(n: number, code16: number): void {
    const b = this.buf;
    if (n < 0x10000) {
      b[this.pos++] = code16;
      b[this.pos++] = n >> 8;
      b[this.pos++] = n & 0xff;
    } else {
      b[this.pos++] = code16 + 1;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** As msgpackr writes numbers (its defaults: no float32). */
  private number(v: number): void {
    this.room(9);
    const b = this.buf;
    if (v >>> 0 === v) {
      if (v < 0x80) b[this.pos++] = v;
      else if (v < 0x100) {
        b[this.pos++] = 0xcc;
        b[this.pos++] = v;
      } else if (v < 0x10000) {
        b[this.pos++] = 0xcd;
        b[this.pos++] = v >> 8;
        b[this.pos++] = v & 0xff;
      } else {
        b[this.pos++] = 0xce;
        this.view.setUint32(this.pos, v);
        this.pos += 4;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = 0x100 + v;
      else if (v >= -0x80) {
        b[this.pos++] = 0xd0;
        b[this.pos++] = v + 0x100;
      } else if (v >= -0x8000) {
        b[this.pos++] = 0xd1;
        this.view.setInt16(this.pos, v);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, v);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  /** ASCII strings only: any other text takes the general path, whose UTF-8 is msgpackr's. */
  private string(s: string): boolean {
    const n = s.length;
    if (n < SHORT_STRING) {
      this.room(n + 1);
      const b = this.buf;
      let p = this.pos;
      b[p++] = 0xa0 | n;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return false;
        b[p++] = c;
      }
      this.pos = p;
      return true;
    }
    if (n < COUNTED_STRING ? NOT_ASCII.test(s) : utf8Length(s) !== n) return false;
    this.room(n + 5);
    if (n < 0x20) this.buf[this.pos++] = 0xa0 | n;
    else this.sized(n, 0xd9);
    const b = this.buf;
    this.pos += (b as Buffer & { latin1Write(s: string, at: number, n: number): number }).latin1Write(s, this.pos, n);
    return true;
  }

  private bin(v: Uint8Array): boolean {
    const n = v.byteLength;
    this.room(n + 5);
    this.sized(n, 0xc4);
    this.buf.set(v, this.pos);
    this.pos += n;
    return true;
  }

  /** A str or bin header: its 8-, 16- or 32-bit form (type codes `code8` and the next two). */
  private sized(n: number, code8: number): void {
    if (n < 0x100) {
      this.buf[this.pos++] = code8;
      this.buf[this.pos++] = n;
    } else this.length(n, code8 + 1);
  }
}

/**
 * The packer for one payload at a time, reused. Packing may run program code (a getter of
 * an argument) that makes a recorded call of its own: that nested payload gets a packer of
 * its own (its event lands in the log first, as it happened first).
 */
export class Packers {
  private readonly reused = new FastPacker();
  private inUse = 0;

  /** An empty packer; give it back with done() when its bytes are copied out. */
  take(): FastPacker {
    const f = this.inUse++ === 0 ? this.reused : new FastPacker();
    f.pos = 0;
    return f;
  }

  done(): void {
    this.inUse--;
  }
}
