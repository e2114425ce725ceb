// dgram: UDP sockets, at the boundary between Node's dgram.js and its UDP handle
// (udp_wrap), as net.ts does for TCP. Requests JS makes of the handle (bind, connect,
// send, the socket options) are calls whose status is logged and served at replay; every
// callback the handle makes (a datagram received, a send completed) is a turn of it.
// At replay the UDP handles stay inert: no socket is opened, no port bound, nothing sent.
import { bindingNamed, crc32 } from '../node/bindings.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { handleState, recordCompletion } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;

const udpBinding = () => bindingNamed<{ UDP: { prototype: any } }>('udp_wrap');

/** Length and crc32 of a datagram (a list of Buffers). */
function measure(list: Uint8Array[], count: number): { length: number; crc: number } {
  let length = 0;
  let crc = 0;
  for (let i = 0; i < count; i++) {
    length += list[i].length;
    crc = crc32(list[i], crc);
  }
  return { length, crc };
}

/** Calls whose only effect is a status (or a number) they return: logged, served at replay. */
const STATUS_CALLS = [
  'bind',
  'bind6',
  'connect',
  'connect6',
  'disconnect',
  'open',
  'setBroadcast',
  'setTTL',
  'setMulticastTTL',
  'setMulticastLoopback',
  'setMulticastInterface',
  'addMembership',
  'dropMembership',
  'addSourceSpecificMembership',
  'dropSourceSpecificMembership',
  'getSendQueueSize',
  'getSendQueueCount',
] as const;

export const dgramSource: Source = {
  name: 'dgram',
  install(s: Session) {
    const b = udpBinding();
    if (!b) return;
    const P = b.UDP.prototype;
    const replay = s.mode === 'replay' ? s : null;
    const record = s.mode === 'record' ? s : null;

    for (const name of STATUS_CALLS) {
      const real = P[name];
      if (typeof real !== 'function') continue;
      P[name] = function (this: Handle, ...args: unknown[]) {
        const st = handleState(this)!;
        return s.call(Api['dgram.call'], { h: st.op, call: name, args }, () => real.apply(this, args));
      };
    }
    // Addresses and buffer sizes fill an object the caller passes: logged as [result, filled].
    for (const name of ['getsockname', 'getpeername', 'bufferSize'] as const) {
      const real = P[name];
      if (typeof real !== 'function') continue;
      P[name] = function (this: Handle, ...args: unknown[]) {
        const st = handleState(this)!;
        const outAt = name === 'bufferSize' ? 2 : 0;
        const out = args[outAt] as Record<string, unknown> | undefined;
        const [result, filled] = s.call(
          Api['dgram.call'],
          { h: st.op, call: name, args: args.filter((_, i) => i !== outAt) },
          () => {
            const o: Record<string, unknown> = {};
            const a = [...args];
            a[outAt] = o;
            return [real.apply(this, a), o] as [unknown, Record<string, unknown>];
          },
        );
        if (out && typeof out === 'object') Object.assign(out, filled);
        return result;
      };
    }

    // A send: its bytes are checked (length, crc32), never sent at replay. A status above 0
    // is Node's "sent at once" (bytes + 1); 0 with a callback completes in a later turn.
    for (const name of ['send', 'send6'] as const) {
      const real = P[name];
      if (typeof real !== 'function') continue;
      P[name] = function (this: Handle, req: any, list: Uint8Array[], count: number, ...rest: unknown[]) {
        const st = handleState(this)!;
        const wantsCallback = rest[rest.length - 1] === true;
        const to = rest.length >= 3 ? { port: rest[0], address: rest[1] } : null;
        const { length, crc } = measure(list, count);
        const op = wantsCallback ? s.newOp() : 0;
        const args = arguments;
        const err = s.call(Api['dgram.send'], { h: st.op, length, crc, to }, () => real.apply(this, args)) as number;
        if (err === 0 && wantsCallback) {
          if (record) recordCompletion(record, st, req, op, Api['dgram.sent'], (a) => [a[0], a[1]]);
          else {
            replay!.register(op, {
              tag: Tag.Callback,
              api: Api['dgram.sent'],
              repeat: false,
              what: 'a datagram sent',
              fire: (done) => {
                const [status, sent] = done as [number, number];
                req.oncomplete(status, sent);
              },
            });
          }
        }
        return err;
      };
    }

    // Datagrams received: turns of the handle's op.
    const recvStart = P.recvStart;
    const recvStop = P.recvStop;
    P.recvStart = function (this: Handle) {
      const st = handleState(this)!;
      if (record) {
        if (!this[kWatched]) {
          this[kWatched] = true;
          const onmessage = this.onmessage;
          this.onmessage = function (nread: number, h: Handle, buf: Buffer | undefined, rinfo: unknown) {
            record.callback(st.op, Api['dgram.message'], [
              nread,
              nread >= 0 && buf ? Buffer.from(buf) : null,
              rinfo ?? null,
            ]);
            return onmessage.apply(this, arguments);
          };
        }
        return recvStart.call(this);
      }
      if (!this[kWatched]) {
        // Node's onMessage is entered from a function of rewind's, as when recording, so its
        // frame reads the same in both runs ("UDP.onMessage", not "[as onmessage]").
        this[kWatched] = true;
        const onmessage = this.onmessage;
        this.onmessage = function () {
          return onmessage.apply(this, arguments);
        };
      }
      if (!st.reading) {
        st.reading = true;
        const handle = this;
        replay!.register(st.op, {
          tag: Tag.Callback,
          api: Api['dgram.message'],
          repeat: true,
          what: 'a UDP socket receiving',
          fire: (payload) => {
            const [nread, bytes, rinfo] = payload as [number, Uint8Array | null, Record<string, unknown> | null];
            handle.onmessage(nread, handle, bytes ? Buffer.from(bytes) : undefined, rinfo ?? undefined);
          },
        });
      }
      return 0;
    };
    P.recvStop = function (this: Handle) {
      if (record) return recvStop.call(this);
      const st = handleState(this)!;
      if (st.reading) {
        st.reading = false;
        replay!.cancel(st.op);
      }
      return 0;
    };
  },
};
const kWatched = Symbol('rewind.udpWatched');
