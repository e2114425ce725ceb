// Low-level encoding shared by TraceWriter and TraceReader.
// 'msgpackr/pack' is the pure-JS build: the main entry also loads a native addon, which
// costs ~15 ms of startup in every recorded process and gains nothing at our payload sizes.
import { Packr } from 'msgpackr/pack';

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

  /** A varint length followed by that many bytes. */
  lengthPrefixed(): Uint8Array {
    return this.bytes(this.varint());
  }

  msgpack(): unknown {
    const start = this.pos;
    const n = this.varint();
    const p = this.field(n);
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
