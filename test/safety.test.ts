// Safe recordings: --out never destroys what rewind did not make; an untrusted recording is
// data, not code; bad files are exit 65, never a crash; signals and rewind's own I/O failures.
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../src/trace/reader.js';
import { encodeChunk, encodePreamble } from '../src/trace/writer.js';
import { Api, CHUNK_HEADER_BYTES, Tag } from '../src/trace/format.js';
import { pack, putVarint } from '../src/trace/codec.js';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  logsOf,
  rewind,
  run,
  start,
  tempDir,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

/** A one-paragraph message for the user with this status: no stack of rewind's internals, no "internal error". */
function expectRefusal(r: RunResult, status: number, pattern: RegExp): void {
  const err = r.stderr.toString();
  expect(r.status, describeRun('rewind', r)).toBe(status);
  expect(err).toMatch(pattern);
  expect(err).not.toMatch(/internal error|^\s+at .*(dist|src)\//m);
}

/** A project directory with a source file, to check that nothing in it is touched. */
function project(): { dir: string; files: Record<string, string> } {
  const dir = tempDir('rewind-project-');
  const files = {
    'app.js': 'console.log("hello", Date.now());\n',
    'src/lib.js': 'module.exports = 42;\n',
    'README.md': '# mine\n',
  };
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return { dir, files };
}

function expectIntact(p: { dir: string; files: Record<string, string> }): void {
  for (const [f, text] of Object.entries(p.files)) expect(fs.readFileSync(path.join(p.dir, f), 'utf8')).toBe(text);
}

/** The environment of a user whose rewind key lives in `config` (a HOME of their own). */
const userEnv = (config: string) => ({ XDG_CONFIG_HOME: config });

/** Rewrites a log's header (keeping its events), as someone editing a recording would. */
function editHeader(log: string, edit: (h: Record<string, unknown>) => void): void {
  const bytes = fs.readFileSync(log);
  const t = TraceReader.parse(bytes, log);
  const h = structuredClone(t.header) as unknown as Record<string, unknown>;
  edit(h);
  fs.writeFileSync(log, Buffer.concat([encodePreamble(h as never), bytes.subarray(t.preamble.length)]));
}

describe('--out never deletes, overwrites or follows what rewind did not create', () => {
  it('a mistyped command with --out . in a project is refused before it runs; nothing is deleted', async () => {
    const p = project();
    for (const cmd of [['nodee', 'app.js'], ['true']]) {
      const r = await rewind(['record', '--out', '.', '--', ...cmd], { cwd: p.dir });
      expectRefusal(r, 64, /is not empty and is not a rewind recording/);
      expectIntact(p);
    }
  });

  it('a command that starts no Node process removes only the directory rewind created, and an existing empty one stays', async () => {
    const p = project();
    const r = await rewind(['record', '--out', 'new/rec', '--', 'true'], { cwd: p.dir });
    expect(r.status).toBe(64);
    expect(r.stderr.toString()).toMatch(/no Node\.js process started/);
    expect(fs.existsSync(path.join(p.dir, 'new'))).toBe(false); // both levels were rewind's
    fs.mkdirSync(path.join(p.dir, 'empty'));
    const nf = await rewind(['record', '--out', 'empty', '--', 'no-such-command-xyz'], { cwd: p.dir });
    expectRefusal(nf, 127, /command not found/);
    expect(fs.readdirSync(path.join(p.dir, 'empty'))).toEqual([]); // the user's: kept, and left empty
    expectIntact(p);
  });

  it('a symbolic link, a file, or a link planted as index.json are never followed', async () => {
    const p = project();
    const elsewhere = tempDir('rewind-elsewhere-');
    fs.symlinkSync(elsewhere, path.join(p.dir, 'link'));
    expectRefusal(
      await rewind(['record', '--out', 'link', '--', NODE, 'app.js'], { cwd: p.dir }),
      64,
      /is a symbolic link/,
    );
    expectRefusal(
      await rewind(['record', '--out', 'app.js', '--', NODE, 'app.js'], { cwd: p.dir }),
      64,
      /is a file, not a directory/,
    );
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    // A recording of the user's own, whose index.json someone replaced by a link to a file of theirs.
    const rec = path.join(p.dir, 'rec');
    expect((await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: p.dir })).status).toBe(0);
    fs.rmSync(path.join(rec, 'index.json'));
    fs.symlinkSync(path.join(p.dir, 'README.md'), path.join(rec, 'index.json'));
    const again = await rewind(['record', '--out', 'rec', '--force', '--', NODE, 'app.js'], { cwd: p.dir });
    expect(again.status, describeRun('record --force', again)).toBe(0);
    expect(fs.lstatSync(path.join(rec, 'index.json')).isFile()).toBe(true); // replaced, not written through
    expectIntact(p);
  });

  it('a second run into the same --out is refused, unless --force, which says it adds to the recording', async () => {
    const p = project();
    expect((await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: p.dir })).status).toBe(0);
    expectRefusal(
      await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: p.dir }),
      64,
      /already holds a recording.*--force/,
    );
    expect(logsOf(path.join(p.dir, 'rec'))).toHaveLength(1);
    const forced = await rewind(['record', '--out', 'rec', '--force', '--', NODE, 'app.js'], { cwd: p.dir });
    expect(forced.status).toBe(0);
    expect(forced.stderr.toString()).toMatch(/adding this run to the recording in .*rec \(--force\)/);
    expect(logsOf(path.join(p.dir, 'rec'))).toHaveLength(2);
  });

  it('.rewind/ gets a .gitignore of "*" when rewind creates it', async () => {
    const p = project();
    expect((await rewind(['record', '--', NODE, 'app.js'], { cwd: p.dir })).status).toBe(0);
    expect(fs.readFileSync(path.join(p.dir, '.rewind', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });
});

describe('an untrusted recording is data: what it names is not run', () => {
  // hook.cjs stands for a loader (tsx, ts-node): the program needs it, and it leaves a mark when it runs.
  function hooked(): { dir: string; mark: string } {
    const dir = tempDir('rewind-trust-');
    fs.writeFileSync(
      path.join(dir, 'hook.cjs'),
      `require('fs').appendFileSync(${JSON.stringify(path.join(dir, 'mark'))}, 'ran\\n'); globalThis.hooked = 'yes';\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      'console.log("hooked:", globalThis.hooked, process.env.NODE_OPTIONS.includes("hook.cjs"), Date.now());\n',
    );
    return { dir, mark: path.join(dir, 'mark') };
  }
  const hookEnv = (dir: string) => ({ NODE_OPTIONS: `--require ${path.join(dir, 'hook.cjs')}` });

  it('a recording made with NODE_OPTIONS=--require replays without ceremony for its user; another user is refused until --trust', async () => {
    const { dir, mark } = hooked();
    const me = tempDir('rewind-me-');
    const rec = await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], {
      cwd: dir,
      env: { ...userEnv(me), ...hookEnv(dir) },
    });
    expect(rec.stdout.toString()).toMatch(/^hooked: yes true \d+\n$/);
    expect(fs.statSync(path.join(me, 'rewind', 'key')).mode & 0o777).toBe(0o600);
    fs.rmSync(mark);

    // The hook runs at replay (the program prints what it set) after rewind's preload, so its
    // write is checked against the recording and not made.
    const mine = await rewind(['replay', 'rec'], { cwd: dir, env: userEnv(me) });
    expect(mine.stdout.toString(), describeRun('replay', mine)).toBe(rec.stdout.toString());
    expect(mine.status).toBe(0);
    expect(fs.existsSync(mark)).toBe(false);

    const other = tempDir('rewind-other-');
    for (const cmd of [
      ['replay', 'rec'],
      ['debug', 'rec'],
    ]) {
      const r = await rewind(cmd, { cwd: dir, env: userEnv(other) });
      expectRefusal(
        r,
        77,
        new RegExp(
          `not recorded by you.*\\n  NODE_OPTIONS --require ${path.join(dir, 'hook.cjs').replace(/[.]/g, '\\.')}\\n.*--trust`,
          's',
        ),
      );
      expect(fs.existsSync(mark)).toBe(false);
    }
    const ev = await rewind(['events', 'rec'], { cwd: dir, env: userEnv(other) });
    expect(ev.status).toBe(0);
    expect(ev.stderr.toString()).toMatch(/listed without call sites: .*not recorded by you/s);
    expect(fs.existsSync(mark)).toBe(false);
    const info = await rewind(['info', 'rec'], { cwd: dir, env: userEnv(other) });
    expect(info.stdout.toString()).toMatch(/trust +not signed by you.*NODE_OPTIONS --require/);

    const trusted = await rewind(['replay', 'rec', '--trust'], { cwd: dir, env: userEnv(other) });
    expect(trusted.stdout.toString()).toBe(rec.stdout.toString());
    expect(trusted.stderr.toString()).toMatch(
      /^rewind: --trust: running what \S+ names at start-up: NODE_OPTIONS --require \S+hook\.cjs\n/,
    );
    expect(fs.existsSync(mark)).toBe(false);
  });

  it("a file named like rewind's preload in the recorded NODE_OPTIONS runs at replay in no thread: workers start with the replay's options", async () => {
    const dir = tempDir('rewind-trust-');
    const mark = path.join(dir, 'mark');
    fs.mkdirSync(path.join(dir, 'evil'));
    // Stands in for rewind's preload (it loads it, so the program is recorded) and leaves a mark in each thread it runs in.
    fs.writeFileSync(
      path.join(dir, 'evil', 'preload.cjs'),
      `require('fs').appendFileSync(${JSON.stringify(mark)}, 'thread ' + require('worker_threads').threadId + '\\n');\n` +
        `require(${JSON.stringify(path.join(ROOT, 'dist', 'preload.cjs'))});\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      `const { Worker } = require('node:worker_threads');\n` +
        `new Worker('require("node:worker_threads").parentPort.postMessage(Math.random())', { eval: true })` +
        `.on('message', (m) => console.log('worker', m, process.env.NODE_OPTIONS.includes('evil')));\n`,
    );
    const rec = await run(NODE, ['app.js'], {
      cwd: dir,
      env: {
        ...userEnv(tempDir('rewind-me-')),
        NODE_OPTIONS: `--require=${path.join(dir, 'evil', 'preload.cjs')}`,
        REWIND_DIR: path.join(dir, 'rec'),
      },
    });
    expect(rec.stdout.toString(), describeRun('record', rec)).toMatch(/^worker 0\.\d+ true\n$/);
    expect(fs.readFileSync(mark, 'utf8')).toBe('thread 0\nthread 1\n');
    fs.rmSync(mark);
    const r = await rewind(['replay', 'rec'], { cwd: dir, env: userEnv(tempDir('rewind-other-')) });
    expect(r.stdout.toString(), describeRun('replay', r)).toBe(rec.stdout.toString());
    expect(r.status).toBe(0);
    expect(fs.existsSync(mark)).toBe(false);
  });

  it('a signed recording whose header was edited is no longer trusted', async () => {
    const { dir, mark } = hooked();
    const me = tempDir('rewind-me-');
    fs.writeFileSync(path.join(dir, 'plain.js'), 'console.log(Date.now());\n');
    expect(
      (await rewind(['record', '--out', 'rec', '--', NODE, 'plain.js'], { cwd: dir, env: userEnv(me) })).status,
    ).toBe(0);
    const [log] = logsOf(path.join(dir, 'rec'));
    const hook = path.join(dir, 'hook.cjs');
    editHeader(log, (h) => {
      h.execArgv = ['--require', hook];
      (h.env as Record<string, string>).LD_PRELOAD = '/tmp/evil.so';
      (h.env as Record<string, string>).NODE_PATH = '/tmp/evil_modules';
    });
    const r = await rewind(['replay', 'rec'], { cwd: dir, env: userEnv(me) });
    expectRefusal(
      r,
      77,
      /node option --require \S*hook\.cjs\n  LD_PRELOAD=\/tmp\/evil\.so\n  NODE_PATH=\/tmp\/evil_modules\n/,
    );
    expect(fs.existsSync(mark)).toBe(false);
  });

  it('a -e program is code the recording names: refused unless trusted', async () => {
    const dir = tempDir('rewind-eval-');
    const me = tempDir('rewind-me-');
    // An argument after the code is argv[1]: the program's, not a script to find (it was taken for one).
    const code = 'console.log("evaluated", Math.random(), process.argv.slice(1))';
    const rec = await rewind(['record', '--out', 'rec', '--', NODE, '-e', code, 'an-argument'], {
      cwd: dir,
      env: userEnv(me),
    });
    expect(rec.status).toBe(0);
    expect(rec.stdout.toString()).toMatch(/^evaluated 0\.\d+ \[ 'an-argument' \]\n$/);
    const mine = await rewind(['replay', 'rec'], { cwd: dir, env: userEnv(me) });
    expect(mine.stdout.toString()).toBe(rec.stdout.toString());
    expectRefusal(
      await rewind(['replay', 'rec'], { cwd: dir, env: userEnv(tempDir()) }),
      77,
      /node option -e "console\.log\(\\"evaluated\\", Math\.random\(\), process\.argv\.slice\(1\)\)"/,
    );
  });

  it('.rewind/latest never leads out of .rewind/, and logs must be regular files', async () => {
    const dir = tempDir('rewind-latest-');
    fs.writeFileSync(path.join(dir, 'app.js'), 'console.log(1);\n');
    const elsewhere = tempDir('rewind-elsewhere-');
    expect(
      (await rewind(['record', '--out', path.join(elsewhere, 'rec'), '--', NODE, 'app.js'], { cwd: dir })).status,
    ).toBe(0);
    fs.mkdirSync(path.join(dir, '.rewind'));
    fs.writeFileSync(
      path.join(dir, '.rewind', 'latest'),
      `${path.relative(path.join(dir, '.rewind'), path.join(elsewhere, 'rec'))}\n`,
    );
    expectRefusal(await rewind(['replay'], { cwd: dir }), 65, /latest does not name a recording inside/);
    fs.symlinkSync(path.join(elsewhere, 'rec'), path.join(dir, '.rewind', 'linked'));
    fs.writeFileSync(path.join(dir, '.rewind', 'latest'), 'linked\n');
    expectRefusal(await rewind(['info'], { cwd: dir }), 65, /is a symbolic link/);

    const [log] = logsOf(path.join(elsewhere, 'rec'));
    const zero = path.join(dir, 'zero.rwnd');
    fs.symlinkSync('/dev/zero', zero);
    expectRefusal(await rewind(['info', zero], { cwd: dir }), 65, /is a symbolic link/);
    fs.symlinkSync(log, path.join(dir, 'link.rwnd'));
    expectRefusal(await rewind(['events', 'link.rwnd', '--no-sites'], { cwd: dir }), 65, /is a symbolic link/);
    const fifo = path.join(dir, 'fifo.rwnd');
    const mk = await start('mkfifo', [fifo]).done;
    expect(mk.status).toBe(0);
    const r = await rewind(['info', fifo], { cwd: dir, timeoutMs: 10_000 });
    expect(r.timedOut).toBe(false);
    expectRefusal(r, 65, /is not a regular file/);
  });
});

describe('a replay performs no external effect, also of the start-up Node applies itself', () => {
  it('coverage (NODE_V8_COVERAGE), a CPU profile and --env-file: applied when recording, not at replay; the program reads them as recorded', async () => {
    const dir = tempDir('rewind-effects-');
    const cov = path.join(dir, 'coverage');
    const prof = path.join(dir, 'profile');
    const envFile = path.join(dir, '.env');
    fs.writeFileSync(envFile, 'FROM_ENV_FILE=yes\n');
    const out = path.join(tempDir('rewind-rec-'), 'rec');
    const program =
      'console.log(process.env.NODE_V8_COVERAGE === undefined, process.env.FROM_ENV_FILE, process.execArgv.length, Math.random())';
    const args = ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--env-file=${envFile}`, '-e', program];
    const rec = await rewind(['record', '--out', out, '--', NODE, ...args], {
      cwd: dir,
      env: { NODE_V8_COVERAGE: cov },
    });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(/^false yes 5 0\.\d+\n$/);
    expect(fs.readdirSync(cov).length).toBeGreaterThan(0);
    expect(fs.readdirSync(prof)).toHaveLength(1);
    for (const p of [cov, prof, envFile]) fs.rmSync(p, { recursive: true });
    const rep = await rewind(['replay', out], { cwd: dir });
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.equals(rec.stdout)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  // Node 22.1+: Node writes V8's code cache for each module it compiles, past the fs binding.
  // node:module is loaded at start-up under -e, and by the program's require from a file
  // (rewind then patches it as it loads: node/fields.ts cjsLoader).
  it.skipIf(!('enableCompileCache' in Module)).for(['-e', 'a file'])(
    'the compile cache (NODE_COMPILE_CACHE, module.enableCompileCache()), program given by %s: written when recording, not at replay; the program gets the recorded answers',
    async (form) => {
      const dir = tempDir('rewind-cache-');
      const byEnv = path.join(dir, 'by-env');
      const byCall = path.join(dir, 'by-call');
      fs.writeFileSync(path.join(dir, 'dep.cjs'), 'module.exports = 2;\n');
      const program = `const m = require('node:module'); const r = m.enableCompileCache(${JSON.stringify(byCall)}); console.log(r.status, typeof m.getCompileCacheDir(), require('./dep.cjs'), Math.random())`;
      fs.writeFileSync(path.join(dir, 'main.cjs'), `${program}\n`);
      const out = path.join(tempDir('rewind-rec-'), 'rec');
      const args = form === '-e' ? ['-e', program] : ['main.cjs'];
      const rec = await rewind(['record', '--out', out, '--', NODE, ...args], {
        cwd: dir,
        env: { NODE_COMPILE_CACHE: byEnv },
      });
      expect(rec.status, describeRun('record', rec)).toBe(0);
      // Enabled already by the variable (status 2, ALREADY_ENABLED): Node wrote both caches.
      expect(rec.stdout.toString()).toMatch(/^\d string 2 0\.\d+\n$/);
      const written = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).length : 0);
      expect(written(byEnv) + written(byCall)).toBeGreaterThan(0);
      for (const d of [byEnv, byCall]) fs.rmSync(d, { recursive: true, force: true });
      const rep = await rewind(['replay', out], { cwd: dir });
      expect(rep.status, describeRun('replay', rep)).toBe(0);
      expect(rep.stdout.equals(rec.stdout)).toBe(true);
      expect(written(byEnv) + written(byCall), 'the replay wrote a compile cache').toBe(0);
    },
  );
});

describe('bad recordings are exit 65, never a crash', () => {
  async function sample(): Promise<{ dir: string; log: string }> {
    const dir = tempDir('rewind-bad-');
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      'console.log(Date.now()); setTimeout(() => console.log(Math.random()), 1);\n',
    );
    expect((await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: dir })).status).toBe(0);
    return { dir, log: logsOf(path.join(dir, 'rec'))[0] };
  }

  it('header fields of the wrong type or range', async () => {
    const { dir, log } = await sample();
    const original = fs.readFileSync(log);
    const cases: [string, (h: Record<string, unknown>) => void, RegExp][] = [
      ['argv of numbers', (h) => (h.argv = [1, 2]), /argv\[0\] is not a string/],
      ['stdio without its streams', (h) => (h.stdio = {}), /stdio\.stdin is not an object/],
      ['startWall NaN', (h) => (h.startWall = NaN), /startWall is not a time/],
      [
        'an env value with a NUL byte',
        (h) => ((h.env as Record<string, string>).X = 'a\0b'),
        /env\.X is not a string \(or holds a NUL byte\)/,
      ],
      [
        'a bad ipc serialization',
        (h) => (h.ipc = { serialization: 'evil' }),
        /ipc\.serialization is not json or advanced/,
      ],
      ['a relative cwd', (h) => (h.cwd = 'here'), /cwd is not an absolute path/],
      // Format 6 logs the perf clock's bases as a reading; format 5 had them in the header.
      [
        'perf clock bases in a format 6 header',
        (h) => (h.perfNowBase = 1),
        /perfNowBase is in the header \(format 6 logs it as perf\.origin\)/,
      ],
      ['a format 5 header without them', (h) => (h.formatVersion = 5), /perfNowBase is not a time/],
    ];
    for (const [what, edit, message] of cases) {
      fs.writeFileSync(log, original);
      editHeader(log, edit);
      for (const cmd of ['info', 'ps', 'events', 'replay']) {
        const r = await rewind([cmd, 'rec'], { cwd: dir });
        expect(r.status, `${what}: ${cmd}\n${describeRun(cmd, r)}`).toBe(65);
        expect(r.stderr.toString()).toMatch(message);
        expect(r.stderr.toString()).not.toMatch(/internal error/);
      }
    }
  });

  it('a recording whose program is a device is refused, not run (node would read /dev/zero forever)', async () => {
    const { dir, log } = await sample();
    editHeader(log, (h) => ((h.entry as Record<string, unknown>).path = '/dev/zero'));
    const r = await rewind(['replay', 'rec'], { cwd: dir, timeoutMs: 15_000 });
    expect(r.timedOut).toBe(false);
    expectRefusal(r, 65, /the recorded program \/dev\/zero is not a regular file/);
  });

  it('a non-array command in index.json', async () => {
    const { dir } = await sample();
    const index = path.join(dir, 'rec', 'index.json');
    fs.writeFileSync(index, JSON.stringify({ ...JSON.parse(fs.readFileSync(index, 'utf8')), command: 'node app.js' }));
    for (const cmd of ['info', 'ps', 'replay'])
      expectRefusal(await rewind([cmd, 'rec'], { cwd: dir }), 65, /index\.json is corrupt: command is not a list/);
  });

  it('a perf.origin reading that is not two times is corruption', () => {
    const pre = encodePreamble(minimalLog().header);
    const api = Buffer.alloc(4);
    const call = Buffer.from([Tag.Call, ...api.subarray(0, putVarint(api, 0, Api['perf.origin'])), 1]);
    const part = (v: unknown) => Buffer.concat([Buffer.from([pack(v).length]), pack(v)]); // length-prefixed, < 128 bytes
    const origin = (value: unknown) => encodeChunk(0, Buffer.concat([call, part(null), part(value)]));
    expect(TraceReader.parse(Buffer.concat([pre, origin([12.5, 1.7e12])])).eventCount).toBe(1);
    for (const bad of [[12.5], ['12.5', 1.7e12], [12.5, -1], { base: 12.5 }])
      expect(() => TraceReader.parse(Buffer.concat([pre, origin(bad)])), JSON.stringify(bad)).toThrow(
        /malformed perf\.origin reading/,
      );
  });

  it('a duplicated, a missing or a reordered chunk is corruption', () => {
    const pre = encodePreamble(minimalLog().header);
    const c0 = encodeChunk(0, Buffer.from([1, 2]));
    const c1 = encodeChunk(1, Buffer.from([1, 4]));
    const c2 = encodeChunk(2, Buffer.from([1, 6]));
    expect(TraceReader.parse(Buffer.concat([pre, c0, c1, c2])).eventCount).toBe(3);
    expect(() => TraceReader.parse(Buffer.concat([pre, c0, c1, c1, c2]))).toThrow(
      /repeats chunk 1 \(chunk 2 was expected\)/,
    );
    expect(() => TraceReader.parse(Buffer.concat([pre, c0, c2]))).toThrow(
      /is chunk 2, but chunk 1 was expected: chunks are missing or out of order/,
    );
    expect(() => TraceReader.parse(Buffer.concat([pre, c0, c2, c1]))).toThrow(/chunks are missing or out of order/);
    // A cut-off chunk that claims 2^30 - 1 bytes: nothing of it is used unchecked.
    const huge = Buffer.alloc(CHUNK_HEADER_BYTES + 3);
    huge.writeUInt32LE(2 ** 30 - 1, 0);
    huge.writeUInt32LE(1, 8);
    huge.set([1, 8, 1], CHUNK_HEADER_BYTES);
    const t = TraceReader.parse(Buffer.concat([pre, c0, huge]));
    expect(t.eventCount).toBe(1);
    expect(t.truncated).toMatch(/cut off \(3 of 1073741823 bytes\)/);
  });

  it('escape sequences in a recording never reach the terminal raw', async () => {
    const { dir, log } = await sample();
    editHeader(log, (h) => {
      (h.argv as string[])[1] = '/x/\u001b]0;pwned\u0007\u001b[2J.js';
      h.title = '\u009b31m';
    });
    for (const cmd of ['info', 'ps']) {
      const r = await rewind([cmd, 'rec'], { cwd: dir });
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).not.toMatch(/[\u001b\u0007\u009b]/);
      expect(r.stdout.toString()).toMatch(/\\(x1b|u001b)\]0;pwned\\(x07|u0007)/);
    }
  });
});

/** The header of a minimal valid log (to frame hand-made chunks with). */
function minimalLog() {
  const h = {
    formatVersion: 2,
    rewindVersion: '0.1.0',
    nodeVersion: process.version,
    platform: 'linux',
    arch: 'x64',
    pid: 1,
    ppid: 1,
    argv: ['/usr/bin/node', '/app/main.js'],
    execArgv: [],
    cwd: '/app',
    env: {},
    title: 'node',
    entry: { path: '/app/main.js', sha256: 'ab'.repeat(32) },
    startWall: 1_700_000_000_000,
    monoBase: [1, 2],
    perfNowBase: 1,
    uptimeBase: 0.1,
    timeOrigin: 1_700_000_000_000,
    randomSeed: [1, 2, 3, 4],
    stdio: { stdin: { isTTY: false }, stdout: { isTTY: false }, stderr: { isTTY: false } },
  };
  return TraceReader.parse(encodePreamble(h as never));
}

describe("signals and rewind's own I/O", () => {
  it('SIGINT sent to the rewind process alone reaches the program, and rewind ends as it did', async () => {
    const dir = tempDir('rewind-sig-');
    fs.writeFileSync(
      path.join(dir, 'wait.js'),
      'process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(3); }); console.log("ready"); setTimeout(() => console.log("no signal came"), 20000);\n',
    );
    const s = start(
      NODE,
      [path.join(import.meta.dirname, '..', 'bin', 'rewind.js'), 'record', '--out', 'rec', '--', NODE, 'wait.js'],
      { cwd: dir, timeoutMs: 25_000 },
    );
    await s.waitFor(/ready/);
    s.child.kill('SIGINT'); // rewind's pid only, not its process group
    const r = await s.done;
    expect(r.stdout.toString()).toBe('ready\ngot SIGINT\n');
    expect(r.status).toBe(3);
  });

  it('an output directory that cannot be created is exit 73 before the program runs', async () => {
    const dir = tempDir('rewind-out-');
    fs.writeFileSync(path.join(dir, 'file'), '');
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      `require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'ran'))}, '');\n`,
    );
    expectRefusal(
      await rewind(['record', '--out', 'file/rec', '--', NODE, 'app.js'], { cwd: dir }),
      73,
      /cannot create the recording directory .*file\/rec \(ENOTDIR\)/,
    );
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it("losing the recording directory mid-run keeps the program's exit status, and says so", async () => {
    const dir = tempDir('rewind-lost-');
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      'require("fs").rmSync(process.env.REWIND_DIR, { recursive: true }); console.log("bye"); process.exitCode = 5;\n',
    );
    const r = await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: dir });
    expect(r.status, describeRun('record', r)).toBe(5);
    expect(r.stdout.toString()).toBe('bye\n');
    expect(r.stderr.toString()).toMatch(
      /recording directory .*rec could not be completed .*deleted, or became unwritable/,
    );
    expect(r.stderr.toString()).not.toMatch(/internal error|no Node\.js process started/);
  });
});

describe('redaction', () => {
  const SECRETS = [
    'ENV_never_read_value', // an env var the program never reads
    'ARGV_pa55word_value', // --password=
    'AUTHZ_t0ken_value', // Authorization
    'COOKIE_s3ss10n_value', // Cookie
    'SETCOOKIE_s3cr3t_value', // Set-Cookie
    `ghp_${'Z'.repeat(36)}`, // a request body
    'AKIAQWERTYUIOPASDFGH', // a response body
    'NPMRC_t0ken_value', // ~/.npmrc
    'DOTENV_pa55_value', // .env
  ];

  /** A project whose run meets the nine secrets; HOME is a directory of its own. */
  function secretsProject(): { dir: string; env: Record<string, string> } {
    const dir = tempDir('rewind-secrets-');
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    fs.copyFileSync(path.join(import.meta.dirname, 'fixtures', 'secrets.cjs'), path.join(dir, 'app.cjs'));
    fs.writeFileSync(path.join(home, '.npmrc'), '//registry.npmjs.org/:_authToken=NPMRC_t0ken_value\n');
    fs.writeFileSync(path.join(dir, '.env'), 'DB_PASSWORD=DOTENV_pa55_value\n');
    return { dir, env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), API_KEY: 'ENV_never_read_value' } };
  }

  /** A file's bytes, and for a log also its events as they are before chunks are compressed. */
  function contents(file: string): Buffer {
    const bytes = fs.readFileSync(file);
    if (!file.endsWith('.rwnd')) return bytes;
    const t = TraceReader.parse(bytes, file);
    return Buffer.concat([bytes, t.preamble, t.body]);
  }

  function grepCopy(dir: string): string[] {
    const found: string[] = [];
    for (const f of fs.readdirSync(dir)) {
      const bytes = contents(path.join(dir, f));
      for (const s of SECRETS) if (bytes.includes(s)) found.push(`${s} in ${f}`);
    }
    return found;
  }

  it('rewind redact: none of nine planted secrets is in any file of the copy, which replays as recorded', async () => {
    const p = secretsProject();
    const rec = await rewind(['record', '--out', 'rec', '--', NODE, 'app.cjs', '--password=ARGV_pa55word_value'], {
      cwd: p.dir,
      env: p.env,
    });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // Before: every one of them is in the recording, in clear.
    const clear = Buffer.concat(
      fs.readdirSync(path.join(p.dir, 'rec')).map((f) => contents(path.join(p.dir, 'rec', f))),
    );
    expect(SECRETS.filter((s) => !clear.includes(s))).toEqual([]);

    const r = await rewind(['redact', 'rec', '--out', 'shared'], { cwd: p.dir, env: p.env });
    expect(r.status, describeRun('redact', r)).toBe(0);
    expect(grepCopy(path.join(p.dir, 'shared'))).toEqual([]);
    expect(fs.readdirSync(path.join(p.dir, 'rec')).length).toBeGreaterThan(0); // the original is left as it was

    const info = await rewind(['info', 'shared'], { cwd: p.dir, env: p.env });
    expect(info.stdout.toString()).toMatch(/redacted +yes: \d+ secrets replaced by placeholders \(rules: default\)/);
    const original = await rewind(['info', 'rec'], { cwd: p.dir, env: p.env });
    expect(original.stdout.toString()).toMatch(/redacted +no/);
    const events = await rewind(['events', 'shared', '--no-sites'], { cwd: p.dir, env: p.env });
    expect(SECRETS.filter((s) => events.stdout.includes(s))).toEqual([]);

    const replayed = await rewind(['replay', 'shared'], { cwd: p.dir, env: p.env });
    expect(replayed.stdout.toString(), describeRun('replay', replayed)).toBe(rec.stdout.toString());
    expect(replayed.status).toBe(0);
  });

  it('record --redact keeps only the redacted recording; a program that computes on a secret diverges with a note', async () => {
    const p = secretsProject();
    fs.writeFileSync(
      path.join(p.dir, 'hash.cjs'),
      'console.log(require("crypto").createHash("sha256").update(process.env.API_KEY).digest("hex"));\n',
    );
    const rec = await rewind(['record', '--redact', '--out', 'rec', '--', NODE, 'hash.cjs'], {
      cwd: p.dir,
      env: p.env,
    });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(grepCopy(path.join(p.dir, 'rec'))).toEqual([]);
    const replayed = await rewind(['replay', 'rec'], { cwd: p.dir, env: p.env });
    expect(replayed.status).toBe(70);
    expect(replayed.stderr.toString()).toMatch(
      /divergence at event \d+[\s\S]*this recording is redacted \(rules: default\)/,
    );
    expectRefusal(
      await rewind(['record', '--redact=bogus', '--', NODE, 'hash.cjs'], { cwd: p.dir, env: p.env }),
      64,
      /"bogus" is not a redaction rule/,
    );
  });
});
