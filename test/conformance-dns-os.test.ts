// Record→replay conformance for dns and os. Name resolution needs no network: 'localhost'
// comes from the hosts file, '.invalid' names never resolve, and resolve* asks a DNS
// server the test runs on 127.0.0.1 (dns-server.ts). A replay must ask nobody: the server
// counts its queries, and answers otherwise (or is gone) while a recording is replayed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { DnsServer, type Zone } from './dns-server.js';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  fixture,
  record,
  recordAndReplay,
  replay,
  runPlain,
  tempDir,
  type Expect,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

const ZONE_A: Zone = {
  'svc.test': [
    { type: 'A', address: '192.0.2.10', ttl: 120 },
    { type: 'A', address: '192.0.2.11', ttl: 60 },
    { type: 'AAAA', address: '2001:db8::10', ttl: 90 },
    { type: 'MX', priority: 10, exchange: 'mail.svc.test' },
    { type: 'MX', priority: 20, exchange: 'backup.svc.test' },
    { type: 'TXT', entries: ['v=spf1 -all'] },
    { type: 'TXT', entries: ['part one', 'part two'] },
    { type: 'NS', value: 'ns1.svc.test' },
    {
      type: 'SOA',
      nsname: 'ns1.svc.test',
      hostmaster: 'admin.svc.test',
      serial: 2024010101,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minttl: 300,
    },
    { type: 'CAA', critical: 0, tag: 'issue', value: 'ca.example' },
    {
      type: 'NAPTR',
      order: 100,
      preference: 10,
      flags: 'S',
      service: 'SIP+D2U',
      regexp: '',
      replacement: '_sip._udp.svc.test',
    },
  ],
  'www.svc.test': [{ type: 'CNAME', value: 'svc.test' }],
  '_http._tcp.svc.test': [{ type: 'SRV', priority: 1, weight: 5, port: 8080, name: 'svc.test' }],
  '_443._tcp.svc.test': [{ type: 'TLSA', certUsage: 3, selector: 1, match: 1, data: Buffer.from('c0ffee00', 'hex') }],
  '10.2.0.192.in-addr.arpa': [{ type: 'PTR', value: 'svc.test' }],
  'empty.svc.test': [],
};

/** The same names with other answers: what the replay would print if it asked. */
const ZONE_B: Zone = {
  'svc.test': [
    { type: 'A', address: '198.51.100.7', ttl: 5 },
    { type: 'AAAA', address: '2001:db8::7', ttl: 5 },
    { type: 'MX', priority: 5, exchange: 'other.svc.test' },
    { type: 'TXT', entries: ['changed'] },
    {
      type: 'SOA',
      nsname: 'ns2.svc.test',
      hostmaster: 'root.svc.test',
      serial: 7,
      refresh: 1,
      retry: 1,
      expire: 1,
      minttl: 1,
    },
  ],
  '_http._tcp.svc.test': [{ type: 'SRV', priority: 9, weight: 9, port: 9090, name: 'other.svc.test' }],
  '_443._tcp.svc.test': [{ type: 'TLSA', certUsage: 2, selector: 0, match: 0, data: Buffer.from('0badf00d', 'hex') }],
  '10.2.0.192.in-addr.arpa': [{ type: 'PTR', value: 'other.svc.test' }],
};

async function startServer(): Promise<DnsServer> {
  const server = await DnsServer.start(ZONE_A);
  server.refused.add('refused.svc.test');
  server.silent.add('silent.svc.test');
  return server;
}

/**
 * A machine whose system resolver answers from a hosts file the test can rewrite: the
 * resolver is replaced, below rewind, by dns-hosts-preload.cjs.
 */
function hostsFile(content: string): { hosts: string; env: Record<string, string> } {
  const hosts = path.join(tempDir('rewind-hosts-'), 'hosts');
  fs.writeFileSync(hosts, content);
  return { hosts, env: { NODE_OPTIONS: `--require ${fixture('dns-hosts-preload.cjs')}`, DNS_TEST_HOSTS: hosts } };
}

function expectRecorded(expect: Expect, rec: Recorded): string {
  expect({ status: rec.status, signal: rec.signal }, describeRun('record', rec)).toEqual({ status: 0, signal: null });
  return rec.stdout.toString('utf8');
}

/**
 * Records `name` against a DNS server answering from ZONE_A; then, with the server
 * answering from ZONE_B, a plain run prints something else and the replay prints the
 * recording without a single query; with the server gone, it still does.
 */
async function recordAgainstServer(expect: Expect, name: string): Promise<string> {
  const server = await startServer();
  try {
    const rec = await record(name, [String(server.port)]);
    const out = expectRecorded(expect, rec);
    expect(server.queries, 'the recording asked the server').toBeGreaterThan(0);

    server.zone = ZONE_B;
    const plain = await runPlain(name, [String(server.port)]);
    expect(plain.status, describeRun('plain run', plain)).toBe(0);
    expect(plain.stdout.equals(rec.stdout), 'the server answers the same with ZONE_B').toBe(false);

    const asked = server.queries;
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(server.queries, 'the replay sent DNS queries').toBe(asked);

    await server.close();
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    return out;
  } finally {
    await server.close().catch(() => {});
  }
}

describe.concurrent('dns', () => {
  it('dns.lookup in every form, lookupService, promises, errors and validation', async ({ expect }) => {
    const r = await recordAndReplay('dns-lookup.cjs');
    const out = expectRecorded(expect, r.record);
    const addr = '"[0-9a-f.:]+",[46]';
    expect(out).toMatch(new RegExp(`^lookup \\[${addr}\\]$`, 'm'));
    expect(out).toMatch(new RegExp(`^lookup 4 \\["[0-9.]+",4\\]$`, 'm'));
    expect(out).toMatch(new RegExp(`^lookup IPv4 \\["[0-9.]+",4\\]$`, 'm'));
    expect(out).toMatch(/^lookup all \[\[\{"address":"[0-9a-f.:]+","family":[46]\}.*\]\]$/m);
    expect(out).toMatch(/^lookup all 6 (\[\[\{"address":"[0-9a-f:]+","family":6\}.*\]\]|Error ENOTFOUND .*)$/m);
    expect(out).toMatch(new RegExp(`^lookup hints verbatim \\[${addr}\\]$`, 'm'));
    expect(out).toMatch(/^lookup ipv6first \[\[\{"address":"[0-9a-f.:]+","family":[46]\}.*\]\]$/m);
    expect(out).toMatch(/^lookup literal \["127\.0\.0\.1",4\]$/m);
    const missing =
      /^lookup missing Error (\w+) errno=-\d+ syscall=getaddrinfo hostname=nonexistent\.invalid: getaddrinfo (\w+) nonexistent\.invalid$/m.exec(
        out,
      );
    expect(missing?.[1], out).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(out).toMatch(
      /^inspected Error: getaddrinfo \w+ nonexistent\.invalid\n {4}at GetAddrInfoReqWrap\.onlookupall \[as oncomplete\] \(node:dns:\d+:\d+\) \{\n {2}errno: -\d+,\n {2}code: '\w+',\n {2}syscall: 'getaddrinfo',\n {2}hostname: 'nonexistent\.invalid'\n\}$/m,
    );
    expect(out).toMatch(/^promisify lookup \[\{"address":"[0-9a-f.:]+","family":[46]\}\]$/m);
    expect(out).toMatch(/^dns\.promises\.lookup \[\[\{"address":/m);
    expect(out).toMatch(
      /^dns\/promises lookup missing Error \w+ errno=-\d+ syscall=getaddrinfo hostname=nonexistent\.invalid/m,
    );
    expect(out).toMatch(/^lookupService \["[^"]+","[^"]+"\]$/m);
    expect(out).toMatch(/^promises lookupService \[\{"hostname":"[^"]+","service":"[^"]+"\}\]$/m);
    expect(out).toMatch(/^completion order [0-5](,[0-5]){5}$/m);
    expect(out).toMatch(/^system servers true$/m);
    expect(out.match(/^invalid \w+ ERR_\w+ .+$/gm), out).toHaveLength(6);
    expect(out).not.toMatch(/accepted\?/);
    expect(out).toMatch(/\ndone\n$/);
    expectReplayMatches(expect, r);
  });

  it('net.connect and server.listen look their host names up through the recording', async ({ expect }) => {
    const { hosts, env } = hostsFile('127.0.0.1 localhost\n');
    const rec = await record('dns-net.cjs', [], { env });
    const out = expectRecorded(expect, rec);
    expect(out).toMatch(/^listening 127\.0\.0\.1 IPv4 \d+$/m);
    expect(out).toMatch(/^client lookup null 127\.0\.0\.1 4 localhost$/m);
    expect(out).toMatch(/^connected to 127\.0\.0\.1 true$/m);
    expect(out).toMatch(/^client got hello 127\.0\.0\.1$/m);
    expect(out).toMatch(/^bad lookup ENOTFOUND$/m);
    expect(out).toMatch(
      /^bad connect ENOTFOUND getaddrinfo nonexistent\.invalid getaddrinfo ENOTFOUND nonexistent\.invalid$/m,
    );
    expect(out).toMatch(/\nserver closed\n$/);
    // Asked again, 'localhost' would be another address to listen on and connect to.
    fs.writeFileSync(hosts, '127.0.0.2 localhost\n');
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it("dns.lookup('localhost') replays the recorded addresses on a machine where it resolves to others", async ({
    expect,
  }) => {
    const { hosts, env } = hostsFile('192.0.2.1 localhost\n');
    const rec = await record('dns-localhost.cjs', [], { env });
    expect(expectRecorded(expect, rec)).toBe('localhost 192.0.2.1/4\nfirst 192.0.2.1/4\n');

    fs.writeFileSync(hosts, '198.51.100.1 localhost\n2001:db8::1 localhost\n');
    const plain = await runPlain('dns-localhost.cjs', [], { env });
    expect(plain.stdout.toString('utf8'), describeRun('plain run', plain)).toBe(
      'localhost 198.51.100.1/4 2001:db8::1/6\nfirst 198.51.100.1/4\n',
    );
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('resolve*, reverse, Resolver and cancel() against a DNS server: the replay sends no query', async ({ expect }) => {
    const out = await recordAgainstServer(expect, 'dns-resolve.cjs');
    expect(out).toMatch(/^resolve4 \["192\.0\.2\.10","192\.0\.2\.11"\]$/m);
    expect(out).toMatch(
      /^resolve4 ttl \[\{"address":"192\.0\.2\.10","ttl":120\},\{"address":"192\.0\.2\.11","ttl":60\}\]$/m,
    );
    expect(out).toMatch(/^resolve6 ttl \[\{"address":"2001:db8::10","ttl":90\}\]$/m);
    expect(out).toMatch(/^resolve \["192\.0\.2\.10","192\.0\.2\.11"\]$/m);
    // Node 24 adds the record type to MX, SRV and CAA answers.
    expect(out).toMatch(
      /^resolve MX \[\{"exchange":"mail\.svc\.test","priority":10(,"type":"MX")?\},\{"exchange":"backup\.svc\.test","priority":20(,"type":"MX")?\}\]$/m,
    );
    for (const type of ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA'])
      expect(out).toMatch(new RegExp(`^resolveAny .*"type":"${type}"`, 'm'));
    expect(out).toMatch(/^resolveCaa \[\{"critical":0,("type":"CAA",)?"issue":"ca\.example"\}\]$/m);
    expect(out).toMatch(/^resolveCname \["svc\.test"\]$/m);
    expect(out).toMatch(
      /^resolveNaptr \[\{"flags":"S","service":"SIP\+D2U","regexp":"","replacement":"_sip\._udp\.svc\.test","order":100,"preference":10\}\]$/m,
    );
    expect(out).toMatch(/^resolveNs \["ns1\.svc\.test"\]$/m);
    expect(out).toMatch(/^resolvePtr \["svc\.test"\]$/m);
    expect(out).toMatch(
      /^resolveSoa \{"nsname":"ns1\.svc\.test","hostmaster":"admin\.svc\.test","serial":2024010101,/m,
    );
    expect(out).toMatch(/^resolveSrv \[\{"name":"svc\.test","port":8080,"priority":1,"weight":5(,"type":"SRV")?\}\]$/m);
    expect(out).toMatch(
      /^resolveTlsa ("n\/a"|\[ \{ certUsage: 3, selector: 1, match: 1, data: ArrayBuffer \{ \[Uint8Contents\]: <c0 ff ee 00>, \[byteLength\]: 4 \} \} \])$/m,
    );
    expect(out).toMatch(/^resolveTxt \[\["v=spf1 -all"\],\["part one","part two"\]\]$/m);
    expect(out).toMatch(/^reverse \["svc\.test"\]$/m);
    expect(out).toMatch(/^promisify resolve4 \["192\.0\.2\.10","192\.0\.2\.11"\]$/m);
    expect(out).toMatch(
      /^no such name Error ENOTFOUND errno=undefined syscall=queryA hostname=missing\.svc\.test: queryA ENOTFOUND missing\.svc\.test$/m,
    );
    expect(out).toMatch(
      /^no such record Error ENODATA errno=undefined syscall=queryA hostname=empty\.svc\.test: queryA ENODATA empty\.svc\.test$/m,
    );
    expect(out).toMatch(
      /^refused Error EREFUSED errno=undefined syscall=queryA hostname=refused\.svc\.test: queryA EREFUSED refused\.svc\.test$/m,
    );
    expect(out).toMatch(
      /^inspected Error: queryAaaa ENOTFOUND missing\.svc\.test\n {4}at QueryReqWrap\.onresolve \[as oncomplete\] /m,
    );
    expect(out).toMatch(/^own resolve4 \["192\.0\.2\.10","192\.0\.2\.11"\]$/m);
    expect(out).toMatch(
      /^own timeout Error ETIMEOUT errno=undefined syscall=queryA hostname=silent\.svc\.test: queryA ETIMEOUT silent\.svc\.test$/m,
    );
    // cancel() answers the pending query in a later turn, as the recording has it.
    expect(out).toMatch(
      /^cancel returned\nown cancelled Error ECANCELLED errno=undefined syscall=queryTxt hostname=silent\.svc\.test: /m,
    );
    expect(out).toMatch(/^servers 127\.0\.0\.1:(\d+) 127\.0\.0\.1:\1$/m);
    expect(out.match(/^invalid \w+ ERR_\w+ .+$/gm), out).toHaveLength(5);
    expect(out).not.toMatch(/accepted\?/);
    expect(out).toMatch(/\ndone\n$/);
  });

  it('ESM named imports of node:dns and node:dns/promises, dns.promises.Resolver', async ({ expect }) => {
    const out = await recordAgainstServer(expect, 'dns-promises.mjs');
    expect(out).toMatch(/^named lookup [0-9a-f.:]+ [46]$/m);
    expect(out).toMatch(/^lookup all \[\{"address":/m);
    expect(out).toMatch(/^lookupService \{"hostname":"[^"]+","service":"[^"]+"\}$/m);
    expect(out).toMatch(/^named resolve4 \["192\.0\.2\.10","192\.0\.2\.11"\]$/m);
    expect(out).toMatch(/^named resolve4 ttl \[\{"address":"192\.0\.2\.10","ttl":120\},/m);
    expect(out).toMatch(
      /^together \[\{"exchange":"mail\.svc\.test","priority":10(,"type":"MX")?\},.*\] \[\["v=spf1 -all"\],\["part one","part two"\]\]$/m,
    );
    expect(out).toMatch(/^servers 127\.0\.0\.1:\d+$/m);
    expect(out).toMatch(
      /^rejected Error ENOTFOUND syscall=queryA hostname=missing\.svc\.test: queryA ENOTFOUND missing\.svc\.test$/m,
    );
    expect(out).toMatch(
      /^lookup rejected Error: getaddrinfo \w+ nonexistent\.invalid\n {4}at GetAddrInfoReqWrap\.onlookup \[as oncomplete\] \(node:internal\/dns\/promises:\d+:\d+\) \{$/m,
    );
    expect(out).toMatch(/^own srv \[\{"name":"svc\.test","port":8080,"priority":1,"weight":5(,"type":"SRV")?\}\]$/m);
    expect(out).toMatch(/^own reverse \["svc\.test"\]$/m);
    expect(out).toMatch(
      /^cancel returned\nown cancelled Error ECANCELLED syscall=queryA hostname=silent\.svc\.test: /m,
    );
    expect(out).toMatch(/^dns\.promises\.Resolver resolve6 \[\{"address":"2001:db8::10","ttl":90\}\]$/m);
    expect(out).toMatch(/^dns\.promises\.resolveSoa \{"nsname":"ns1\.svc\.test",/m);
    expect(out.match(/^invalid \w+ ERR_\w+ .+$/gm), out).toHaveLength(3);
    expect(out).toMatch(/\ndone\n$/);
  });

  it('a program edited to look up another name stops at that lookup (divergence)', async ({ expect }) => {
    const entry = path.join(tempDir('rewind-entry-'), 'dns-localhost.cjs');
    fs.copyFileSync(fixture('dns-localhost.cjs'), entry);
    const rec = await record(entry);
    expectRecorded(expect, rec);
    const lookup = (await eventsOf(rec.dir)).find((e) => e.kind === 'call' && e.detail.startsWith('dns.lookup'))!;

    fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace("'localhost'", "'elsewhere.invalid'"));
    const rep = await replay(rec.dir, { flags: ['--force'] });
    const err = rep.stderr.toString('utf8');
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    expect(err).toMatch(new RegExp(`^rewind: divergence at event ${lookup.n} `));
    expect(err).toMatch(/the recording has: dns\.lookup \{hostname: "localhost",/);
    expect(err).toMatch(/the program did: +called dns\.lookup \{hostname: "elsewhere\.invalid",/);
    expect(rep.stdout.length).toBe(0);
  });
});

describe.concurrent('os', () => {
  it('what os reports of the machine is the recorded machine', async ({ expect }) => {
    const rec = await record('os-info.cjs');
    const out = expectRecorded(expect, rec);
    expect(out).toMatch(/^hostname (\S+) \1 \S+$/m);
    expect(out).toMatch(/^kernel \S+ .+$/m);
    expect(out).toMatch(/^memory \d+ \d+ true$/m);
    expect(out).toMatch(/^uptime [\d.]+$/m);
    expect(out).toMatch(/^loadavg [\d.]+ [\d.]+ [\d.]+$/m);
    expect(out).toMatch(/^cpus [1-9]\d* \{"model":.*"times":\{"user":\d+/m);
    expect(out).toMatch(/^parallelism [1-9]\d*$/m);
    expect(out).toMatch(/^interfaces \{.*"address":"127\.0\.0\.1"/m);
    expect(out).toMatch(/^user \S+ \d+ \d+ \S+ \S+$/m);
    expect(out).toMatch(/^user buffer true \S+$/m);
    expect(out).toMatch(new RegExp(`^constant ${os.arch()} ${os.platform()} (LE|BE) true number$`, 'm'));
    expect(out).toMatch(/^priority (-?\d+) \1\npriority after setPriority -?\d+$/m);
    expect(out).toMatch(
      /^getPriority SystemError \[ERR_SYSTEM_ERROR\]: A system error occurred: uv_os_getpriority returned ESRCH \(no such process\)\n {4}at Object\.getPriority \(node:os:/m,
    );
    expect(out).toMatch(
      /^ {2}errno: \[Getter\/Setter: -\d+\],\n {2}syscall: \[Getter\/Setter: 'uv_os_getpriority'\]\n\}$/m,
    );
    expect(out).toMatch(/^toString SystemError \[ERR_SYSTEM_ERROR\]: .* -\d+ uv_os_getpriority ESRCH$/m);
    expect(out.match(/^invalid \w+ ERR_\w+ .+$/gm), out).toHaveLength(3);
    expect(out).toMatch(/^later [\d.]+ \d+$/m);
    // Uptime and free memory have moved on since: a plain run prints other values.
    const plain = await runPlain('os-info.cjs');
    expect(plain.status, describeRun('plain run', plain)).toBe(0);
    expect(plain.stdout.equals(rec.stdout), 'a plain run printed the same').toBe(false);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('setPriority is not performed again at replay', async ({ expect }) => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const rec = await record('os-set-priority.cjs', [String(other.pid)]);
      expect(expectRecorded(expect, rec)).toMatch(/^before -?\d+\nafter 5\n$/);
      expect(os.getPriority(other.pid)).toBe(5);
      os.setPriority(other.pid!, 7); // lowering a priority needs no privilege
      expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
      expect(os.getPriority(other.pid), 'the replay set the priority').toBe(7);
    } finally {
      other.kill();
    }
  });

  it.runIf(process.getuid?.() === 0)(
    'os.userInfo() of a user the system does not know: its SystemError',
    async ({ expect }) => {
      const r = await recordAndReplay('os-user-unknown.cjs');
      const out = expectRecorded(expect, r.record);
      expect(out).toMatch(
        /^SystemError \[ERR_SYSTEM_ERROR\]: A system error occurred: uv_os_get_passwd returned ENOENT \(no such file or directory\)\n {4}at Object\.userInfo \(node:os:/m,
      );
      expect(out).toMatch(/^toString SystemError \[ERR_SYSTEM_ERROR\]: .* ERR_SYSTEM_ERROR -2 uv_os_get_passwd true$/m);
      expectReplayMatches(expect, r);
    },
  );
});
