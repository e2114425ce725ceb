// A DNS server for the dns conformance tests: UDP on 127.0.0.1, answering from a zone the
// test sets (and may swap between a recording and its replay), counting the queries it
// receives. Enough of RFC 1035 for c-ares: one question, answers without compression.
import dgram from 'node:dgram';

export type DnsRecord =
  | { type: 'A' | 'AAAA'; address: string; ttl?: number }
  | { type: 'CNAME' | 'NS' | 'PTR'; value: string }
  | { type: 'MX'; priority: number; exchange: string }
  | { type: 'TXT'; entries: string[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; name: string }
  | {
      type: 'SOA';
      nsname: string;
      hostmaster: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minttl: number;
    }
  | {
      type: 'NAPTR';
      order: number;
      preference: number;
      flags: string;
      service: string;
      regexp: string;
      replacement: string;
    }
  | { type: 'CAA'; critical: number; tag: string; value: string }
  | { type: 'TLSA'; certUsage: number; selector: number; match: number; data: Buffer };

/** Names and their records. A name that is absent does not exist (NXDOMAIN). */
export type Zone = Record<string, DnsRecord[]>;

const TYPES: Record<DnsRecord['type'], number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  TLSA: 52,
  CAA: 257,
};
const ANY = 255;
const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 };

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const text = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const name = (n: string) => Buffer.concat([...n.split('.').filter(Boolean).map(text), Buffer.from([0])]);

function ipv6(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const fill = 8 - groups(head).length - groups(tail).length;
  const all = address.includes('::') ? [...groups(head), ...Array(fill).fill('0'), ...groups(tail)] : groups(head);
  return Buffer.concat(all.map((g) => u16(parseInt(g, 16))));
}

function rdata(r: DnsRecord): Buffer {
  switch (r.type) {
    case 'A':
      return Buffer.from(r.address.split('.').map(Number));
    case 'AAAA':
      return ipv6(r.address);
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return name(r.value);
    case 'MX':
      return Buffer.concat([u16(r.priority), name(r.exchange)]);
    case 'TXT':
      return Buffer.concat(r.entries.map(text));
    case 'SRV':
      return Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), name(r.name)]);
    case 'SOA':
      return Buffer.concat([
        name(r.nsname),
        name(r.hostmaster),
        ...[r.serial, r.refresh, r.retry, r.expire, r.minttl].map(u32),
      ]);
    case 'NAPTR':
      return Buffer.concat([
        u16(r.order),
        u16(r.preference),
        text(r.flags),
        text(r.service),
        text(r.regexp),
        name(r.replacement),
      ]);
    case 'CAA':
      return Buffer.concat([Buffer.from([r.critical]), text(r.tag), Buffer.from(r.value)]);
    case 'TLSA':
      return Buffer.concat([Buffer.from([r.certUsage, r.selector, r.match]), r.data]);
  }
}

function answer(owner: string, r: DnsRecord): Buffer {
  const data = rdata(r);
  const ttl = 'ttl' in r && r.ttl !== undefined ? r.ttl : 300;
  return Buffer.concat([name(owner), u16(TYPES[r.type]), u16(1), u32(ttl), u16(data.length), data]);
}

export class DnsServer {
  /** Queries received so far. */
  queries = 0;
  /** Names the server refuses to answer (REFUSED). */
  refused = new Set<string>();
  /** Names whose queries get no reply at all (the client times out or cancels). */
  silent = new Set<string>();

  private constructor(
    private readonly socket: dgram.Socket,
    public zone: Zone,
  ) {
    socket.on('message', (msg, from) => this.reply(msg, from));
  }

  static start(zone: Zone): Promise<DnsServer> {
    const socket = dgram.createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve(new DnsServer(socket, zone)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private reply(msg: Buffer, from: dgram.RemoteInfo): void {
    this.queries++;
    // The question: labels up to a zero byte, then type and class.
    const labels: string[] = [];
    let pos = 12;
    while (msg[pos] !== 0) {
      labels.push(msg.toString('latin1', pos + 1, pos + 1 + msg[pos]));
      pos += 1 + msg[pos];
    }
    const qtype = msg.readUInt16BE(pos + 1);
    const question = msg.subarray(12, pos + 5);
    const qname = labels.join('.').toLowerCase();
    if (this.silent.has(qname)) return;

    const records = this.zone[qname];
    const matching = (records ?? []).filter((r) => qtype === ANY || TYPES[r.type] === qtype);
    const rcode = this.refused.has(qname) ? RCODE.REFUSED : records ? RCODE.NOERROR : RCODE.NXDOMAIN;
    const answers = rcode === RCODE.NOERROR ? matching.map((r) => answer(qname, r)) : [];
    // Same id; QR, AA and RA set, RD copied from the query.
    const flags = 0x8400 | 0x0080 | (msg.readUInt16BE(2) & 0x0100) | rcode;
    const header = Buffer.concat([msg.subarray(0, 2), u16(flags), u16(1), u16(answers.length), u16(0), u16(0)]);
    this.socket.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  }
}
