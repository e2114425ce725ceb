// dns: every name a program resolves passes through Node's cares_wrap binding —
// getaddrinfo (dns.lookup, and through it net.connect, server.listen, http and fetch with a
// host name), getnameinfo (lookupService), and the c-ares channel behind every Resolver
// (the default ones of dns and dns/promises, and those the program creates) for resolve*,
// reverse and getServers. rewind sits at that boundary, as it does for stream handles:
// Node's own dns code validates the arguments, shapes the answers (all, family, order, ttl,
// callbacks or promises) and builds its DNSException errors in both modes, so what the
// program receives is Node's own; only what the resolver answered is recorded. At replay
// nothing is asked of the system resolver or of a DNS server: the requests Node creates
// receive the recorded answers.
//
// Channel configuration (setServers, setLocalAddress, cancel) is local and stays real: at
// replay a channel never has a query in flight, so cancel() finds nothing, and the
// ECANCELLED answers the recording has arrive as recorded.
import { bindings } from '../node/bindings.js';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Req = any;

/**
 * Sends a request through the binding: its status is a call; a request that was sent (0)
 * is answered later through req.oncomplete, in a turn of its own. Node's completion
 * function is entered as `req.oncomplete` in both modes, so the stack of an error it
 * builds reads the same.
 */
function request(
  s: Session,
  api: number,
  args: Record<string, unknown>,
  what: string,
  req: Req,
  send: () => number,
): number {
  const status = s.call(api, args, send);
  if (status === 0) {
    s.async({
      api,
      what,
      start(done) {
        const complete = req.oncomplete;
        req.oncomplete = (...answer: unknown[]) => {
          req.oncomplete = complete;
          done(...answer);
        };
      },
      cb: (...answer) => req.oncomplete(...answer),
    });
  }
  return status;
}

/** "queryAaaa" → "AAAA": the record type, as the program names it. */
const rrtypeOf = (method: string): string => method.slice('query'.length).toUpperCase();

export const dnsSource: Source = {
  name: 'dns',
  install(s: Session) {
    const cares = bindings()?.cares;
    if (!cares) return;

    const getaddrinfo = cares.getaddrinfo;
    cares.getaddrinfo = function (
      this: unknown,
      req: Req,
      hostname: string,
      family: number,
      hints: number,
      order: unknown,
    ) {
      const args = arguments;
      return request(
        s,
        Api['dns.lookup'],
        { hostname, family, hints, order },
        `dns.lookup(${JSON.stringify(hostname)})`,
        req,
        () => getaddrinfo.apply(this, args),
      );
    };
    const getnameinfo = cares.getnameinfo;
    cares.getnameinfo = function (this: unknown, req: Req, address: string, port: number) {
      const args = arguments;
      return request(
        s,
        Api['dns.lookupService'],
        { address, port },
        `dns.lookupService(${JSON.stringify(address)}, ${port})`,
        req,
        () => getnameinfo.apply(this, args),
      );
    };

    const channel = cares.ChannelWrap.prototype;
    // Every query method (the list grows: queryTlsa from Node 22.15) takes (req, name).
    for (const method of Object.getOwnPropertyNames(channel)) {
      const reverse = method === 'getHostByAddr';
      if (!reverse && !method.startsWith('query')) continue;
      const query = channel[method];
      channel[method] = function (this: unknown, req: Req, name: string) {
        const [api, args, what] = reverse
          ? [Api['dns.reverse'], { address: name }, `dns.reverse(${JSON.stringify(name)})`]
          : [
              Api['dns.resolve'],
              { rrtype: rrtypeOf(method), name, ttl: req.ttl },
              `dns.resolve(${JSON.stringify(name)}, '${rrtypeOf(method)}')`,
            ];
        return request(s, api, args, what, req, () => query.call(this, req, name));
      };
    }
    // The servers a channel was configured with come from the system (resolv.conf).
    const getServers = channel.getServers;
    channel.getServers = function (this: unknown) {
      return s.call(Api['dns.getServers'], undefined, () => getServers.call(this));
    };
  },
};
