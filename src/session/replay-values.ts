// Values served from the log (clocks, random bytes, call results) and what the program
// does checked against it (calls with their arguments, outputs byte for byte, writes to
// sockets and pipes), in the order the log holds them.
import { DecodeError, pack, unzigzag } from '../trace/codec.js';
import { quote } from '../trace/describe.js';
import { Api, TAGS, Tag, apiName, type CallRecord } from '../trace/format.js';
import { decodeValue, encodeValue, summarize, toJson } from '../trace/values.js';
import { AS_IS, Packers, type ArgsPacking } from '../trace/fastpack.js';
import { digest } from '../trace/writer.js';
import { original } from '../node/originals.js';
import { HOLD_LIMIT_MS, ReplayDispatcher, debuggerMayHold } from './replay-dispatcher.js';
import { rethrow, type AsyncCall, type ResultCodec } from './session.js';
import { programStack } from './stack.js';

export abstract class ReplayValues extends ReplayDispatcher {
  /** Writes checked against the log. */
  protected outputs = 0;

  wall(tag: number): number {
    if (this.offLog) return original.dateNow();
    this.expect(tag, () => TAGS[tag].call);
    this.lastWall += unzigzag(this.c.varint());
    this.consumed();
    return this.lastWall;
  }

  mono(tag: number): number {
    // The monotonic clocks count from the recorded process's base: paused reads see virtual now.
    if (this.offLog) return this.lastMono;
    this.expect(tag, () => TAGS[tag].call);
    this.lastMono += unzigzag(this.c.varint());
    this.consumed();
    return this.lastMono;
  }

  bytes(tag: number, length: number, real: () => Uint8Array): Uint8Array {
    if (this.offLog) return real();
    const call = () => `${TAGS[tag].call.replace('()', '')}(${length} bytes)`;
    const start = this.c.pos;
    this.expect(tag, call);
    const data = this.c.lengthPrefixed();
    if (data.length !== length) {
      this.c.pos = start;
      this.mismatch(call());
    }
    this.consumed();
    return Buffer.from(data);
  }

  fixed16(tag: number, real: () => Uint8Array): Uint8Array {
    if (this.offLog) return real();
    this.expect(tag, () => TAGS[tag].call);
    const data = Buffer.from(this.c.bytes(16));
    this.consumed();
    return data;
  }

  int(tag: number, real: () => number): number {
    if (this.offLog) return real();
    this.expect(tag, () => TAGS[tag].call);
    const v = unzigzag(this.c.varint());
    this.consumed();
    return v;
  }

  output(fd: number, data: Uint8Array): void {
    if (this.offLog) return; // written for real, not checked
    this.takeTurnToWrite();
    const name = fd === 1 ? 'stdout' : fd === 2 ? 'stderr' : `fd ${fd}`;
    const actual = () => `wrote to ${name} ${quote(data)}`;
    const head = this.peek();
    if (!head || head.kind !== 'output' || head.fd !== fd) this.mismatch(actual());
    const same =
      head.tag === Tag.Write
        ? Buffer.from(head.data!).equals(Buffer.from(data))
        : head.length === data.length && Buffer.from(head.digest!).equals(digest(data));
    if (!same) {
      // A large write keeps only its head in the log: compared as far as that goes.
      const text = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString('utf8'));
      const mine = head.tag === Tag.Write ? data : data.subarray(0, head.data!.length);
      this.mismatch(actual(), programStack(), { expected: text(head.data!), actual: text(mine) });
    }
    this.skip();
    this.outputs++;
  }

  /** The counter of the process's threads' outputs (see RecordSession.outputOrder). */
  outputOrder: Int32Array | null = null;
  /**
   * This thread's last output was written: the next ticket's turn, once this JS stack has
   * unwound, or before this thread waits for another (sources/workers.ts) or exits.
   */
  private written = false;
  readonly passTurn = (): void => {
    if (!this.written) return;
    this.written = false;
    // Slot 1 + k: the next ticket after k that some thread's log holds (sources/workers.ts);
    // tickets taken but never logged (a thread stopped in between) are skipped.
    const order = this.outputOrder!;
    const now = original.Atomics.load(order, 0);
    original.Atomics.store(order, 0, now + 1 < order.length ? order[now + 1] : now + 1);
    original.Atomics.notify(order, 0);
  };

  /**
   * An output with a ticket waits until the outputs of other threads recorded before it are
   * written; the next ticket's turn comes when this write (synchronous, after this returns)
   * is done.
   */
  private takeTurnToWrite(): void {
    const c = this.c;
    if ((c.pos >= c.end && !this.more()) || c.b[c.pos] !== Tag.Value) return;
    const head = this.peek();
    if (head?.api !== Api['thread.outputOrder']) return;
    this.skip();
    const order = this.outputOrder;
    if (order === null) return;
    this.passTurn();
    const ticket = head.payload as number;
    const since = original.dateNow();
    for (let now = original.Atomics.load(order, 0); now !== ticket; now = original.Atomics.load(order, 0)) {
      if (now > ticket || (!debuggerMayHold() && original.dateNow() - since > HOLD_LIMIT_MS)) {
        this.mismatch(
          `waited for output ${ticket} of this process's threads, but ${now > ticket ? 'its turn has passed' : `output ${now} was never written`}`,
        );
      }
      original.Atomics.wait(order, 0, now, 1000);
    }
    this.written = true;
    queueMicrotask(this.passTurn);
  }

  call<T>(api: number, args: unknown, real: () => T, codec?: ResultCodec<T>): T {
    return this.callPacked(api, AS_IS, args, real, codec);
  }

  callPacked<S, T>(api: number, args: ArgsPacking<S>, subject: S, real: (subject: S) => T, codec?: ResultCodec<T>): T {
    // Evaluated while a debugger has the program paused: the outside world answers live.
    if (this.offLog) return real(subject);
    const rec = this.expectCall(api, args, subject, 'called');
    if (rec.status === 0) this.waited(api, args.summary(subject));
    return this.answer(rec, codec);
  }

  /** A synchronous call met the log's start of an asynchronous one. */
  private waited(api: number, args: unknown): never {
    this.mismatch(`called ${apiName(api)} ${summarize(args)} and waited for its result`);
  }

  /** What a synchronous call returns or throws, as the log's event `rec` for it says. */
  private answer<T>(rec: Pick<CallRecord, 'status' | 'value'>, codec?: ResultCodec<T>): T {
    if (rec.status === 2) return rethrow(decodeValue(rec.value));
    return codec ? codec.decode(rec.value) : (decodeValue(rec.value) as T);
  }

  async(a: AsyncCall): number {
    const op = this.newOp();
    if (a.args !== undefined) {
      const rec = this.expectCall(a.api, AS_IS, a.args, 'started');
      if (rec.status !== 0) this.mismatch(`started ${apiName(a.api)} ${summarize(a.args)} asynchronously`);
    }
    const decode = a.codec ? a.codec.decode : (p: unknown) => decodeValue(p) as unknown[];
    this.register(op, {
      tag: Tag.Callback,
      api: a.api,
      repeat: a.repeat ?? false,
      what: a.what,
      fire: (payload) => a.cb(...decode(payload)),
    });
    return op;
  }

  private readonly reported = new Set<string>();

  unsupported(name: string, _why: string): void {
    if (this.offLog || this.reported.has(name)) return;
    this.reported.add(name);
    this.expectCall(Api['rewind.unsupported'], AS_IS, name, 'used');
  }

  /**
   * Consumes the StreamWrite event a write to stream handle `op` must match (same handle,
   * same length, same bytes by crc32) and returns how the recorded write went. Decoded in
   * place (the layout: format.ts, Tag.StreamWrite), not through peek(), which makes a decoder
   * state and an event object: one of these per socket write.
   */
  streamWrite(op: number, length: number, crc: number, actual: () => string): { status: number; async: boolean } {
    if (this.offLog) this.refuse('writing to a socket or pipe');
    if (this.nextTag() === Tag.StreamWrite) {
      const c = this.c;
      const save = c.pos;
      try {
        c.pos++;
        const logged = this.opOf(c.varint());
        if (logged === op && c.varint() === length && c.u32() === crc) {
          const status = unzigzag(c.varint());
          const async = c.u8() === 1;
          if (this.hook !== null) this.hook.value(this.n + 1);
          this.lastOp = logged;
          this.consumed();
          return { status, async };
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
      c.pos = save;
    }
    this.mismatch(actual());
  }

  /** Packers for the arguments of the calls being checked (a call made while packing takes its event first). */
  private readonly packers = new Packers();

  /** Consumes the Call event the program's call must match: same API, same arguments. */
  private expectCall<S>(
    api: number,
    args: ArgsPacking<S>,
    subject: S,
    verb: string,
  ): Pick<CallRecord, 'status' | 'value'> {
    // Packed as the writer packed them when recording, and compared with the log's bytes.
    const f = this.packers.take();
    try {
      f.putWith(args, subject);
    } finally {
      this.packers.done();
    }
    return this.takeCall(api, f.buf, f.pos) ?? this.expectCallDecoded(api, args.summary(subject), verb);
  }

  /** expectCall by the decoded event: a log packed otherwise (another rewind), or a divergence to report. */
  private expectCallDecoded(api: number, args: unknown, verb: string): CallRecord {
    const head = this.peek();
    const encoded = encodeValue(args);
    if (!head || head.tag !== Tag.Call || head.api !== api || !pack(head.call!.args).equals(pack(encoded))) {
      const full = (a: number, args: unknown) => `${apiName(a)} ${JSON.stringify(toJson(args))}`;
      const both =
        head && head.tag === Tag.Call
          ? { expected: full(head.api!, head.call!.args), actual: full(api, encoded) }
          : undefined;
      this.mismatch(`${verb} ${apiName(api)} ${summarize(encoded)}`, programStack(), both);
    }
    this.skip();
    return head.call!;
  }

  protected override finish(): void {
    if (this.outputOrder !== null) this.passTurn();
    super.finish();
  }
}
