// Record→replay conformance of the fs source. Each fixture runs in a directory of its own;
// after recording, the test changes the files the program read, deletes the files it wrote
// and re-creates the files it deleted. The replay must print the same bytes, end the same
// way, and leave the directory exactly as it found it: nothing read from the changed files,
// nothing written, nothing deleted.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  fixture,
  record,
  recordAfterPreload,
  recordWithRegister,
  replay,
  tempDir,
  type Expect,
} from './helpers.js';

afterAll(cleanupTempDirs);

interface FsCase {
  fixture: string;
  args?: (dir: string) => string[];
  /** Lays out the files the program reads. */
  setup(dir: string): void;
  /** What the program creates: there after recording, deleted before the replay. */
  writes: string[];
  /** What the program deletes: gone after recording, re-created before the replay. */
  deletes?: string[];
  /** Changes what the program read, between record and replay. */
  change(dir: string): void;
  status?: number;
  check?(out: string, err: string, expect: Expect): void;
  /** Checks the calls the recording logged (their Api names). */
  logged?(apis: string[], expect: Expect): void;
}

const put = (dir: string, files: Record<string, string>) => {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
};

/** Every file and directory under dir, with file contents. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, rel);
    const st = fs.lstatSync(full);
    out[rel] = st.isDirectory()
      ? '<dir>'
      : st.isSymbolicLink()
        ? `-> ${fs.readlinkSync(full)}`
        : fs.readFileSync(full, 'latin1');
  }
  return out;
}

async function recordChangeReplay(expect: Expect, c: FsCase) {
  const dir = tempDir('rewind-fs-');
  c.setup(dir);
  const rec = await record(c.fixture, c.args?.(dir) ?? [], { cwd: dir });
  expect(rec.status, describeRun('record', rec)).toBe(c.status ?? 0);
  for (const f of c.writes) expect(fs.existsSync(path.join(dir, f)), `the program wrote ${f}`).toBe(true);
  for (const f of c.deletes ?? []) expect(fs.existsSync(path.join(dir, f)), `the program deleted ${f}`).toBe(false);
  c.check?.(rec.stdout.toString(), rec.stderr.toString(), expect);

  c.change(dir);
  for (const f of c.writes) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  for (const f of c.deletes ?? []) put(dir, { [f]: 'restored before the replay\n' });
  const before = snapshot(dir);
  const rep = await replay(rec.dir);
  expectReplayMatches(expect, { record: rec, replay: rep });
  expect(snapshot(dir), 'the replay changed the directory').toEqual(before);
  return { dir, rec, rep };
}

const CASES: Record<string, FsCase> = {
  'reads, writes, recursive readdir and cp that Node 26 makes in one thread-pool trip (its fs jobs)': {
    fixture: 'fs-one-trip.mjs',
    setup: (dir) =>
      put(dir, {
        'small.txt': 'small one\n',
        'big.txt': 'x'.repeat(600 * 1024),
        'tree/top.txt': 'top\n',
        'tree/a/b.txt': 'b\n',
        'tree/a/c/d.txt': 'd\n',
      }),
    writes: ['out.txt', 'out2.txt', 'copy', 'copy2'],
    change(dir) {
      put(dir, { 'small.txt': 'changed\n', 'big.txt': 'y'.repeat(700 * 1024), 'tree/new.txt': 'new\n' });
      fs.rmSync(path.join(dir, 'tree/a'), { recursive: true });
    },
    check(out, _err, expect) {
      expect(out).toMatch(/^readFile "small one\\n"$/m);
      expect(out).toMatch(/^readFile missing ENOENT open$/m);
      expect(out).toMatch(/^written written at true two$/m);
      expect(out).toMatch(/^readdirSync recursive a a\/b\.txt a\/c a\/c\/d\.txt top\.txt$/m);
      expect(out).toMatch(/^cp a a\/b\.txt a\/c a\/c\/d\.txt top\.txt true$/m);
      expect(out).toMatch(/^done$/m);
    },
    logged(apis, expect) {
      const jobs = ['fs.readFileJob', 'fs.writeFileJob', 'fs.cpDirJob', 'fs.readdirRecursive'];
      const nodeHasJobs = Number(process.versions.node.split('.')[0]) >= 26;
      expect(jobs.filter((a) => apis.includes(a))).toEqual(nodeHasJobs ? jobs : []);
    },
  },
  'modules the program removes, writes or rewrites, then loads (a build requiring manifests it writes)': {
    fixture: 'fs-written-modules.cjs',
    args: (dir) => [dir],
    setup: (dir) => put(dir, { 'out/early.json': '{"stale": true}\n' }),
    // At replay the modules it wrote are gone, and the one it removed is back (not even JSON).
    writes: ['out/gen.json', 'out/gen.cjs', 'out/gen.mjs'],
    deletes: ['out/early.json'],
    change: () => {},
    check(out, _err, expect) {
      expect(out).toMatch(/^removed MODULE_NOT_FOUND$/m);
      expect(out).toMatch(/^written \{"n":1,"at":\d+\} 0\.\d+$/m);
      expect(out).toMatch(/^rewritten \{"n":2,"at":\d+\}$/m);
      expect(out).toMatch(/^imported 0\.\d+$/m);
    },
    logged(apis, expect) {
      expect(apis).toContain('module.findPath');
    },
  },
  "files the program holds open while the ESM loader reads modules (their fds are the loader's real ones at replay)": {
    fixture: 'fs-loader-fds.cjs',
    args: (dir) => [dir],
    setup: (dir) =>
      put(dir, Object.fromEntries(['a', 'b', 'c', 'd'].map((m) => [`${m}.mjs`, `export const name = '${m}';\n`]))),
    writes: [],
    change: () => {},
    check(out, _err, expect) {
      expect(out).toBe('a b c d true true true true\n');
    },
  },
  'text that starts with a byte order mark (long strings were decoded without it at replay)': {
    fixture: 'fs-text-bom.cjs',
    setup: (dir) =>
      put(dir, {
        'bom-short.txt': '\uFEFFshort end',
        'bom-long.txt': `\uFEFF${'long line '.repeat(20)}end`,
        'bom-utf8.txt': `\uFEFF${'été 東京 '.repeat(12)}end`,
        'plain-long.txt': `${'no mark '.repeat(20)}end`,
        [`names/\uFEFF${'n'.repeat(80)}-end`]: 'x',
      }),
    writes: [],
    change(dir) {
      for (const f of ['bom-short.txt', 'bom-long.txt', 'bom-utf8.txt', 'plain-long.txt'])
        put(dir, { [f]: 'changed\n' });
      fs.rmSync(path.join(dir, 'names'), { recursive: true });
    },
    check(out, _err, expect) {
      expect(out).toMatch(/^bom-short\.txt 10 feff "\uFEFFshort end" true$/m);
      expect(out).toMatch(/^bom-long\.txt 204 feff "\uFEFFlong line l" true$/m);
      expect(out).toMatch(/^bom-utf8\.txt 88 feff "\uFEFFété 東京 été " true$/m);
      expect(out).toMatch(/^plain-long\.txt 163 6e "no mark no m" true$/m);
      expect(out.match(/^again \d 204 feff /gm)).toHaveLength(3);
      expect(out).toMatch(/^entry 85 feff "\uFEFFnnnnnnnnnnn" true$/m);
      expect(out).toMatch(/^callback 204 feff /m);
    },
  },
  'callback API': {
    fixture: 'fs-callback.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n', 'gone.txt': 'to delete\n' }),
    writes: ['out.txt', 'renamed.txt'],
    deletes: ['gone.txt'],
    change: (dir) => put(dir, { 'in.txt': 'changed after recording, and longer\n', 'extra.txt': 'new\n' }),
    check(out, _err, expect) {
      expect(out).toMatch(/^readFile ok "input one\\n"$/m);
      expect(out).toMatch(/^read ok 4 true "\.\.inpu\.\."$/m);
      expect(out).toMatch(/^readv ok 5 true "in\|put"$/m);
      expect(out).toMatch(/^stat bigint ok "bigint" 10n \d+n true$/m);
      expect(out).toMatch(/^mkdir again EEXIST mkdir made /m);
      expect(out).toMatch(/^opendir ok true "\."$/m);
      expect(out).toMatch(/^done$/m);
    },
  },
  "userland patches of fs that read the clock inside Node's fs calls (graceful-fs's closeSync, fs.open, fs.read)": {
    fixture: 'fs-userland-patches.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n', 'big.txt': 'abcdefghij'.repeat(2000) }),
    writes: ['out.txt'],
    change(dir) {
      put(dir, { 'in.txt': 'CHANGED\n' });
      fs.rmSync(path.join(dir, 'big.txt'));
    },
    check(out, _err, expect) {
      expect(out).toMatch(/^readFileSync 10 10$/m);
      expect(out).toMatch(/^readFile "input one\\n"$/m);
      expect(out).toMatch(/^promises\.readFile 20000$/m);
      expect(out).toMatch(/^stream 4096,4096,4096,4096,3616$/m);
      expect(out).toMatch(/^readFile missing ENOENT$/m);
      expect(out).toMatch(/^writeFile ok true$/m);
      // Each patch ran inside Node's calls while recording (and must again at replay).
      expect(out).toMatch(/^stamps \d+ (closeSync@\d+ ){2}.*open@\d+ .*read@\d+/m);
    },
  },
  'the real graceful-fs, gracefulify(fs)': {
    fixture: 'fs-graceful.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n', 'big.txt': 'x'.repeat(70000) }),
    writes: ['copy.txt'],
    change(dir) {
      put(dir, { 'in.txt': 'CHANGED\n' });
      fs.rmSync(path.join(dir, 'big.txt'));
    },
    check(out, _err, expect) {
      expect(out).toBe(
        'readFileSync 10 70000\nreadFile 70000\nreaddir big.txt,copy.txt,in.txt\nstream 10 then input one true\n',
      );
    },
  },
  "Node's fs code over the binding: cp/cpSync with a filter, glob, mkdtempDisposable, streams over a FileHandle, Dir": {
    fixture: 'fs-more.mjs',
    setup: (dir) => put(dir, { 'src/a.txt': 'alpha text\n', 'src/b.md': '# md\n', 'src/sub/c.txt': 'c text\n' }),
    writes: ['copy', 'copy2', 'copy3.txt'],
    change(dir) {
      put(dir, { 'src/a.txt': 'CHANGED\n' });
      fs.rmSync(path.join(dir, 'src/b.md'));
    },
    check(out, _err, expect) {
      // The filter is the program's code, called by Node's cpSync: it runs again at replay.
      expect(out).toMatch(/^"cpSync" \["a\.txt","sub","sub\/c\.txt"\] 5$/m);
      expect(out).toMatch(/^"cp" \["b\.md","sub","sub\/c\.txt"\]$/m);
      expect(out).toMatch(/^"stream over a FileHandle" \["alp","ha ","tex","t\\n"\] -1$/m);
      expect(out).toMatch(/^"opendir" \["a\.txt:false","b\.md:false","sub:true"\]$/m);
      expect(out).toMatch(/^"done" "alpha text\\n"$/m);
    },
  },
  'sync API, and writeSync to stdout and stderr': {
    fixture: 'fs-sync.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n', 'gone.txt': 'to delete\n' }),
    writes: ['out.txt', 'sub'],
    deletes: ['gone.txt'],
    change: (dir) => put(dir, { 'in.txt': 'CHANGED\n' }),
    check(out, err, expect) {
      expect(out).toMatch(/^readFileSync "input one\\n"$/m);
      expect(out).toMatch(/^readFileSync dir threw EISDIR read/m);
      expect(out).toMatch(/^writeSync bad fd threw EBADF write undefined EBADF: bad file descriptor, write$/m);
      expect(out).toMatch(/^fd io 4 2 "utnpu-" 5 "inp\|ut" 10$/m);
      expect(out).toMatch(/^opendirSync true "sub" "a,link,moved\.txt,t-\w{6}"$/m);
      expect(out).toMatch(/^read again true true "\\"input one\\\\nappended by the program\\\\n\\""$/m);
      expect(out).toMatch(/^to stdout via writeSync$/m);
      expect(out).toMatch(/^write cb null 20$/m);
      expect(err).toBe('to stderr via writeSync\n');
    },
  },
  'fs/promises and FileHandle (named imports)': {
    fixture: 'fs-promises.mjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\nline two\n', 'gone.txt': 'to delete\n' }),
    writes: ['out.txt', 'gen.txt', 'handle.txt', 'dir'],
    deletes: ['gone.txt'],
    change: (dir) => put(dir, { 'in.txt': 'one line only\n' }),
    check(out, _err, expect) {
      expect(out).toMatch(/^fh\.read 5 true "\.input\.\.\.\." null$/m);
      expect(out).toMatch(/^fh\.read default 19 16384$/m);
      expect(out).toMatch(/^read after close "rejected" "EBADF" "read" undefined "file closed"$/m);
      expect(out).toMatch(/^line "line two"$/m);
      expect(out).toMatch(/^opendir true "copy\.txt,t-\w{6},x"$/m);
      expect(out).toMatch(/^done$/m);
    },
  },
  'streams and pipeline': {
    fixture: 'fs-streams.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'stream input line one\nline two\nline three\n' }),
    writes: ['upper.txt', 'log.txt'],
    change: (dir) => put(dir, { 'in.txt': 'x\n' }),
    check(out, _err, expect) {
      expect(out).toMatch(/^pipeline ok chunks 6 bytesRead 42$/m);
      expect(out).toMatch(/^missing ENOENT open missing\.txt /m);
      expect(out).toMatch(/^lines \["stream input line one","line two","line three"\]$/m);
      expect(out).toMatch(/^range "ream "$/m);
    },
  },
  'watch, watchFile and fs.promises.watch': {
    fixture: 'fs-watch.cjs',
    setup: (dir) => fs.mkdirSync(path.join(dir, 'watched')),
    writes: ['watched/new.txt', 'watched/polled.txt', 'watched/third.txt'],
    change: (dir) => fs.rmSync(path.join(dir, 'watched'), { recursive: true }),
    check(out, _err, expect) {
      expect(out).toBe(
        'watch string new.txt\nwatch closed\nwatchFile true 16 5 true\nwatchFile stopped\n' +
          'promises watch string third.txt\npromises watch ended AbortError\n',
      );
    },
  },
  'errors with every property': {
    fixture: 'fs-errors.cjs',
    setup: (dir) => put(dir, { 'file.txt': 'f\n', 'dir/inner.txt': 'i\n' }),
    writes: [],
    change: (dir) => fs.rmSync(path.join(dir, 'dir'), { recursive: true }),
    status: 3,
    check(out, _err, expect) {
      expect(out).toMatch(/^ENOENT sync Error Error ENOENT -2 open missing\.txt undefined /m);
      expect(out).toMatch(/^EISDIR cb Error Error EISDIR -21 open dir /m);
      expect(out).toMatch(/^EEXIST promise Error Error EEXIST -17 mkdir dir /m);
      expect(out).toMatch(/^ENOTEMPTY sync /m);
      expect(out).toMatch(/^ENOENT promise dest Error Error ENOENT -2 link missing\.txt x /m);
      expect(out).toMatch(/^ {2}string TypeError \[ERR_INVALID_ARG_TYPE\]: The "path" argument/m);
    },
  },
  'named imports of node:fs': {
    fixture: 'fs-named.mjs',
    setup: (dir) => put(dir, { 'in.txt': 'named input\n' }),
    writes: ['named.txt'],
    change: (dir) => put(dir, { 'in.txt': 'other\n' }),
    check(out, _err, expect) {
      expect(out).toMatch(/^same functions true true true true$/m);
      expect(out).toMatch(/^readFile "named input\\n"$/m);
    },
  },
  // Jest's workers: graceful-fs's closeSync closes the loader's descriptor (require(esm)).
  "a loader's read closed through a userland fs.closeSync that reads the clock (require(esm) under graceful-fs)": {
    fixture: 'fs-loader-userland-close.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n' }),
    writes: [],
    change: (dir) => put(dir, { 'in.txt': 'CHANGED, and longer\n' }),
    check(out, _err, expect) {
      // One close is the program's readFileSync, one the loader's read of dep.js.
      expect(out).toBe('read "input one\\n"\nanswer 42 closes 2 true\nread again 10\n');
    },
  },
  // Jest's workers: source-map-support's Error.prepareStackTrace calls fs.existsSync.
  'an Error.prepareStackTrace that reads files, and fs calls that throw': {
    fixture: 'fs-error-stack-hook.cjs',
    setup: (dir) => put(dir, { 'in.txt': 'input one\n' }),
    writes: [],
    change: (dir) => put(dir, { 'in.txt': 'CHANGED\n' }),
    check(out, _err, expect) {
      // The hook runs when the program reads a stack, not when the call failed.
      expect(out).toMatch(
        /^probe ENOENT formatted 0\nreaddir ENOENT formatted 0\nError: ENOENT: no such file or directory, scandir 'missing-dir'\n {2}node:fs:false\n {2}abs:true\n/,
      );
      expect(out).toMatch(/^formatted 1\ndata "input one\\n"\n$/m);
    },
  },
};

describe.concurrent('fs: record, change the disk, replay', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async ({ expect }) => {
      const { rec } = await recordChangeReplay(expect, c);
      if (c.logged)
        c.logged(
          (await eventsOf(rec.dir)).flatMap((e) => (e.kind === 'call' ? [String(e.api)] : [])),
          expect,
        );
    });
  }

  it('acceptance: a program reads and stats a directory tree and writes a summary file; the tree is changed and the summary deleted before replay; replay output is identical and the summary file is not re-created', async ({
    expect,
  }) => {
    const { dir, rec } = await recordChangeReplay(expect, {
      fixture: 'fs-tree.cjs',
      args: (d) => [path.join(d, 'tree'), path.join(d, 'summary.txt')],
      setup: (d) =>
        put(d, { 'tree/a.txt': 'alpha\n', 'tree/sub/b.txt': 'bravo\nmore\n', 'tree/sub/deeper/c.txt': 'charlie\n' }),
      writes: ['summary.txt'],
      change(d) {
        put(d, { 'tree/a.txt': 'alpha, rewritten and longer\n', 'tree/new.txt': 'added after recording\n' });
        fs.rmSync(path.join(d, 'tree/sub/deeper'), { recursive: true });
      },
    });
    expect(rec.stdout.toString()).toBe(
      '3 files, 2 directories, 25 bytes\na.txt 6 "alpha"\nsub/\nsub/b.txt 11 "bravo"\nsub/deeper/\nsub/deeper/c.txt 8 "charlie"\nsummary written true 116\n',
    );
    expect(fs.existsSync(path.join(dir, 'summary.txt'))).toBe(false);
  });

  it.skipIf(Number(process.versions.node.split('.')[0]) >= 22)(
    "Node 20's FileHandle.readableWebStream reads natively: said when recording, refused at replay",
    async ({ expect }) => {
      const dir = tempDir('rewind-fs-');
      put(dir, { 'in.txt': 'input one\n' });
      const program = path.join(dir, 'web.mjs');
      fs.writeFileSync(
        program,
        "import fsp from 'node:fs/promises';\nconst h = await fsp.open('in.txt');\nfor await (const c of h.readableWebStream()) console.log(Buffer.from(c).toString().trim());\nawait h.close();\n",
      );
      const rec = await record(program, [], { cwd: dir });
      expect(rec.status, describeRun('record', rec)).toBe(0);
      expect(rec.stdout.toString()).toBe('input one\n');
      expect(rec.stderr.toString()).toMatch(
        /rewind: warning: a FileHandle's native stream \(readableWebStream on Node 20\) is not recorded/,
      );
      const rep = await replay(rec.dir);
      expect(rep.status, describeRun('replay', rep)).toBe(70);
      expect(rep.stderr.toString()).toMatch(
        /the program did: +read a FileHandle's native stream .*which rewind cannot replay/,
      );
      expect(rep.stdout.toString()).toBe('');
    },
  );

  it('a binding function rewind does not know (a newer Node) is said when recording and refused at replay, not run', async ({
    expect,
  }) => {
    const dir = tempDir('rewind-fs-');
    const rec = await recordAfterPreload('fs-future.cjs', 'fs-future/new-binding-function.cjs', dir);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('start\ntouched\n');
    expect(rec.stderr.toString()).toMatch(/rewind: warning: the fs binding function futureTouch is not recorded/);
    fs.rmSync(path.join(dir, 'touched.txt'));
    const rep = await replay(rec.dir, { cwd: dir });
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    expect(rep.stderr.toString()).toMatch(
      /the program did: +called the fs binding function futureTouch, which rewind cannot replay/,
    );
    expect(rep.stdout.toString()).toBe('start\n');
    expect(fs.existsSync(path.join(dir, 'touched.txt')), 'the replay ran the unknown function').toBe(false);
  });

  it("the callback fs.readFile, when Node's readFile code first ran before rewind started, is said when recording and refused at replay", async ({
    expect,
  }) => {
    const dir = tempDir('rewind-fs-');
    put(dir, { 'in.txt': 'input one\n' });
    const rec = await recordAfterPreload('fs-early-readfile.cjs', 'fs-future/early-readfile.cjs', dir);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('start\ninput one\n');
    expect(rec.stderr.toString()).toMatch(
      /rewind: warning: fs\.readFile \(with a callback\) is not recorded \(Node's readFile code first ran before rewind started/,
    );
    put(dir, { 'in.txt': 'CHANGED\n' });
    const rep = await replay(rec.dir, { cwd: dir });
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    expect(rep.stderr.toString()).toMatch(
      /the program did: +called fs\.readFile \(with a callback\), which rewind cannot replay here/,
    );
    expect(rep.stdout.toString()).toBe('start\n');
  });

  it('a replay that opens a file the log never saw is a divergence naming both paths', async ({ expect }) => {
    const dir = tempDir('rewind-fs-');
    put(dir, { 'first.txt': 'first\n', 'second.txt': 'second\n' });
    const program = path.join(dir, 'reader.cjs');
    const source = (file: string) =>
      `const fs = require('node:fs');\nconsole.log('start');\nconsole.log(fs.readFileSync('${file}', 'utf8'));\n`;
    fs.writeFileSync(program, source('first.txt'));
    const rec = await record(program, [], { cwd: dir });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const read = (await eventsOf(rec.dir)).find((e) => e.kind === 'call' && e.detail.startsWith('fs.readFile'))!;
    fs.writeFileSync(program, source('second.txt'));
    const rep = await replay(rec.dir, { flags: ['--force'] });
    const err = rep.stderr.toString();
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    expect(err.startsWith(`rewind: divergence at event ${read.n} `), err).toBe(true);
    // readFileSync(…, 'utf8') is one call into the fs binding (readFileUtf8), with the open flags.
    expect(err).toMatch(/the recording has: fs\.readFile \["sync", "first\.txt", 0\]/);
    expect(err).toMatch(/the program did: +called fs\.readFile \["sync", "second\.txt", 0\]/);
    expect(err).toMatch(/reader\.cjs:3/);
    expect(rep.stdout.toString()).toBe('start\n');
  });

  // vitest's fork workers: vite-node checks a module exists, then imports it.
  it("a program's existsSync and statSync of a module it then imports leave the loader's reads of it unrecorded", async ({
    expect,
  }) => {
    const { rec } = await recordChangeReplay(expect, {
      fixture: 'fs-loader-probed-import.mjs',
      setup: (d) => put(d, { 'in.txt': 'input one\n' }),
      writes: [],
      change: (d) => put(d, { 'in.txt': 'CHANGED\n' }),
    });
    expect(rec.stdout.toString()).toBe('exists true true\nimported probed timer true\ndata "input one\\n"\n');
    const probed = fixture('fs-loader/esm/probed.js');
    const fsCalls = (await eventsOf(rec.dir)).filter((e) => e.kind === 'call' && e.detail.startsWith('fs.'));
    expect(fsCalls.map((e) => [e.api, (e.args as unknown[])[1]])).toEqual([
      ['fs.exists', probed],
      ['fs.stat', probed],
      ['fs.exists', probed],
      ['fs.readFile', 'in.txt'],
    ]);
  });

  // The ESM resolver's realpathSync lstats each part asking for bigint stats, stats a link and
  // reads it; rewind tells those from a program's calls by their shape and, for those shapes,
  // by the stack. Through --import on Node 20 the resolver holds Node's own realpathSync.
  for (const form of ['the CLI', '--import rewind-replay/register'])
    it(`a program's stats through a symlinked directory are recorded, the resolver's realpath of an import through it is not (${form})`, async ({
      expect,
    }) => {
      const dir = tempDir('rewind-fs-');
      put(dir, { 'real/mod.mjs': "export const name = 'mod';\n", 'real/data.txt': 'data one\n' });
      fs.symlinkSync('real', path.join(dir, 'linked'));
      const rec =
        form === 'the CLI'
          ? await record('fs-stat-symlinked.mjs', [], { cwd: dir })
          : await recordWithRegister('fs-stat-symlinked.mjs', dir);
      expect(rec.status, describeRun('record', rec)).toBe(0);
      expect(rec.stdout.toString()).toBe('stat 27 9 true\nbigint bigint true\nimported mod 27 9 data one\n\n');
      const fsCalls = (await eventsOf(rec.dir)).filter((e) => e.kind === 'call' && e.detail.startsWith('fs.'));
      expect(
        fsCalls.map((e) => [e.api, path.relative(dir, (e.args as string[])[1]), (e.args as unknown[])[2]]),
      ).toEqual([
        ['fs.stat', 'linked/mod.mjs', false],
        ['fs.stat', 'linked/data.txt', false],
        ['fs.lstat', 'linked', false],
        ['fs.lstat', 'linked', true],
        ['fs.stat', 'linked', false],
        ['fs.stat', 'linked/mod.mjs', false],
        ['fs.lstat', 'linked/data.txt', false],
        ['fs.readFile', 'linked/data.txt', 0],
      ]);
      put(dir, { 'real/data.txt': 'changed, and longer\n' });
      const rep = await replay(rec.dir);
      expectReplayMatches(expect, { record: rec, replay: rep });
    });

  it("a program's stats of many distinct paths are all recorded and served from the log; imports between them add none", async ({
    expect,
  }) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      files[`src/f${i}.js`] = 'x'.repeat(i + 1);
      files[`src/d${i}.txt`] = 'y'.repeat(100 + i);
    }
    const { rec, rep } = await recordChangeReplay(expect, {
      fixture: 'fs-stat-many.mjs',
      setup: (d) => put(d, files),
      writes: [],
      // Gone at replay: every size the program printed comes from the log.
      change: (d) => fs.rmSync(path.join(d, 'src'), { recursive: true }),
    });
    // 40 .js of 1..40 bytes and 40 .txt of 100..139 bytes, each stat'd and lstat'd.
    expect(rec.stdout.toString()).toBe(`sizes ${2 * (820 + 4000 + 780)} missing 0 promise stat 1\n`);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    const fsCalls = (await eventsOf(rec.dir)).filter((e) => e.kind === 'call' && e.detail.startsWith('fs.'));
    expect(fsCalls.filter((e) => e.api === 'fs.stat').length).toBe(81);
    expect(fsCalls.filter((e) => e.api === 'fs.lstat').length).toBe(80);
    expect(fsCalls.length, JSON.stringify(fsCalls.map((e) => e.detail))).toBe(161);
  });

  for (const entry of ['fs-modules.cjs', 'fs-modules.mjs']) {
    it(`module loading adds no fs events (${entry})`, async ({ expect }) => {
      const rec = await record(entry);
      expect(rec.status, describeRun('record', rec)).toBe(0);
      const fsCalls = (await eventsOf(rec.dir)).filter((e) => e.kind === 'call' && e.detail.startsWith('fs.'));
      // The one read the program makes itself, of a module-like file, is recorded.
      const data = path.join(path.dirname(fixture(entry)), 'fs-modules', 'data.json');
      expect(fsCalls.length, JSON.stringify(fsCalls)).toBe(1);
      expect(fsCalls[0].api).toBe('fs.readFile');
      // Node's fs code turns the URL into a path before it calls the binding.
      expect((fsCalls[0].args as unknown[]).slice(0, 2)).toEqual(['sync', data]);
      const rep = await replay(rec.dir);
      expectReplayMatches(expect, { record: rec, replay: rep });
    });
  }
});
