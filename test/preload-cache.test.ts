// dist/preload.cjs runs the preload bundle from V8's code cache (src/preload-loader.ts):
// made on first use, used after, one per set of V8 flags, and a cache V8 rejects (garbage,
// other flags) made again. Run from a copy of dist/, so the suite's own cache is never touched.
// And the bundles it and node:test's runner run are strict code, as their ES-module sources are.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, cleanupTempDirs, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const PROGRAM = `console.log(Date.now() % 1000, Math.random(), require('node:crypto').randomUUID());\n`;

describe('the bundles', () => {
  // A directive counts only at the top of the function Node wraps a CommonJS file in: the
  // banner the build puts before esbuild's own "use strict" had made it a plain expression,
  // and the bundles ran sloppy, where a write to a read-only property or an undeclared name
  // fails silently (and `arguments` objects alias parameters, slower to make).
  it.each(['preload-bundle.cjs', 'node-test.cjs'])('%s runs in strict mode', (file) => {
    const source = fs.readFileSync(path.join(ROOT, 'dist', file), 'latin1');
    // The preload bundle is stored wrapped, as the loader compiles it (scripts/lean-bundles.mjs).
    const code = file === 'preload-bundle.cjs' ? source : Module.wrap(source);
    const wrapper = new vm.Script(code, { filename: file }).runInThisContext() as () => unknown;
    expect(typeof wrapper).toBe('function');
    // A strict function has no `caller` of its own: reading it throws; a sloppy one's is null.
    expect(() => Reflect.get(wrapper, 'caller')).toThrow(TypeError);
  });
});

describe('the preload code cache', () => {
  it('is written on first use, then used; one per set of V8 flags; one V8 rejects is made again', () => {
    const dir = tempDir('rewind-preload-cache-');
    const dist = path.join(dir, 'dist');
    fs.mkdirSync(dist);
    for (const f of ['preload.cjs', 'preload-bundle.cjs'])
      fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(dist, f));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json')); // rewind's version, for the header
    const program = path.join(dir, 'program.cjs');
    fs.writeFileSync(program, PROGRAM);
    const cacheDir = path.join(dist, '.compile-cache');

    const recordAndReplay = (label: string, flags: string[] = []): string => {
      const out = fs.mkdtempSync(path.join(dir, 'rec-'));
      const env = { ...process.env, NODE_OPTIONS: '', REWIND_MODE: 'record', REWIND_DIR: out };
      const rec = spawnSync(NODE, [...flags, '--require', path.join(dist, 'preload.cjs'), program], {
        env,
        encoding: 'utf8',
      });
      expect(rec.status, `${label}: ${rec.stderr}`).toBe(0);
      expect(rec.stderr, label).toBe('');
      const log = fs.readdirSync(out).find((f) => f.endsWith('.rwnd'));
      expect(log, label).toBeDefined();
      const replayEnv = { ...process.env, NODE_OPTIONS: '', REWIND_MODE: 'replay', REWIND_TRACE: path.join(out, log!) };
      const rep = spawnSync(NODE, ['--require', path.join(dist, 'preload.cjs'), program], {
        env: replayEnv,
        encoding: 'utf8',
      });
      expect(rep.status, `${label} replay: ${rep.stderr}`).toBe(0);
      expect(rep.stdout, label).toBe(rec.stdout);
      return rec.stdout;
    };

    expect(fs.existsSync(cacheDir)).toBe(false);
    recordAndReplay('no cache yet');
    // One per mode: each holds what its start compiled.
    const files = fs.readdirSync(cacheDir).sort();
    const name = (mode: string) =>
      new RegExp(`^preload-${mode}-${process.version.replace(/\./g, '\\.')}-${process.arch}-\\d+-\\d+\\.bin$`);
    expect(files).toEqual([expect.stringMatching(name('record')), expect.stringMatching(name('replay'))]);
    const caches = files.map((f) => path.join(cacheDir, f));
    for (const cache of caches) expect(fs.statSync(cache).size).toBeGreaterThan(10_000);

    const before = caches.map((cache) => fs.readFileSync(cache));
    recordAndReplay('with the cache');
    caches.forEach((cache, i) => expect(fs.readFileSync(cache).equals(before[i])).toBe(true)); // used, not rewritten

    for (const cache of caches) fs.writeFileSync(cache, 'not a code cache');
    recordAndReplay('with a cache V8 rejects');
    expect(fs.readdirSync(cacheDir).sort()).toEqual(files); // no temporary files left behind
    // Made again, and used by the next run.
    for (const cache of caches) expect(accepted(cache), `${cache} made again`).toBe(true);

    // A recording under V8 flags of its own keeps a cache of its own: the runs without them
    // still find theirs accepted (one made under --expose-gc was rejected by them all).
    recordAndReplay('with a V8 flag', ['--expose-gc']);
    const flagged = fs.readdirSync(cacheDir).filter((f) => !files.includes(f));
    expect(flagged).toEqual([expect.stringMatching(/^preload-record-.*-[0-9a-f]+\.bin$/)]);
    for (const cache of caches) expect(accepted(cache), `${cache} after a flagged run`).toBe(true);
    expect(accepted(path.join(cacheDir, flagged[0]), ['--expose-gc'])).toBe(true);
    expect(accepted(path.join(cacheDir, flagged[0]))).toBe(false); // what it kept apart
  });

  // Made again as the first process ends: it then also holds what every run compiles after the
  // start (the log's end, its last chunk's compression), which one made at the start lacks.
  // A process that ends inside an 'exit' listener (process.exit() there) keeps the start's.
  it("is made again at exit, holding what runs after the start; one ended inside an 'exit' listener keeps the start's", () => {
    const sizes = (program: string): number[] => {
      const dir = tempDir('rewind-preload-cache-');
      const dist = path.join(dir, 'dist');
      fs.mkdirSync(dist);
      for (const f of ['preload.cjs', 'preload-bundle.cjs'])
        fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(dist, f));
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
      const file = path.join(dir, 'program.cjs');
      fs.writeFileSync(file, program);
      const out = fs.mkdtempSync(path.join(dir, 'rec-'));
      const env = { ...process.env, NODE_OPTIONS: '', REWIND_MODE: 'record', REWIND_DIR: out };
      const rec = spawnSync(NODE, ['--require', path.join(dist, 'preload.cjs'), file], { env, encoding: 'utf8' });
      expect(rec.status, rec.stderr).toBe(0);
      const cacheDir = path.join(dist, '.compile-cache');
      const caches = fs.readdirSync(cacheDir).map((f) => path.join(cacheDir, f));
      expect(caches).toHaveLength(1);
      expect(accepted(caches[0])).toBe(true);
      return caches.map((c) => fs.statSync(c).size);
    };
    const [atExit] = sizes(PROGRAM);
    const [atStart] = sizes(`process.on('exit', () => process.exit(0));\n${PROGRAM}`);
    expect(atExit).toBeGreaterThan(atStart);
    expect(atExit).toBeLessThanOrEqual(atStart * 1.25);
  });

  /** Whether V8, run with `flags`, takes `cache` for the bundle (as the preload compiles it). */
  function accepted(cache: string, flags: string[] = []): boolean {
    const bundle = path.join(path.dirname(path.dirname(cache)), 'preload-bundle.cjs');
    const check =
      `const fs = require('fs'), vm = require('vm');` +
      `const s = new vm.Script(fs.readFileSync(process.argv[1], 'latin1'), { filename: process.argv[1], cachedData: fs.readFileSync(process.argv[2]) });` +
      `console.log(s.cachedDataRejected)`;
    const r = spawnSync(NODE, [...flags, '-e', check, bundle, cache], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim() === 'false';
  }
});
