// dist/preload.cjs runs the preload bundle from V8's code cache (src/preload-loader.ts):
// made on first use, used after, and a cache V8 rejects (garbage, another build) only costs
// the compile. Run from a copy of dist/, so the suite's own cache is never touched.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, cleanupTempDirs, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const PROGRAM = `console.log(Date.now() % 1000, Math.random(), require('node:crypto').randomUUID());\n`;

describe('the preload code cache', () => {
  it('is written on first use, then used; a rejected one changes nothing but speed', () => {
    const dir = tempDir('rewind-preload-cache-');
    const dist = path.join(dir, 'dist');
    fs.mkdirSync(dist);
    for (const f of ['preload.cjs', 'preload-bundle.cjs'])
      fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(dist, f));
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json')); // rewind's version, for the header
    const program = path.join(dir, 'program.cjs');
    fs.writeFileSync(program, PROGRAM);
    const cacheDir = path.join(dist, '.compile-cache');

    const recordAndReplay = (label: string): string => {
      const out = fs.mkdtempSync(path.join(dir, 'rec-'));
      const env = { ...process.env, NODE_OPTIONS: '', REWIND_MODE: 'record', REWIND_DIR: out };
      const rec = spawnSync(NODE, ['--require', path.join(dist, 'preload.cjs'), program], { env, encoding: 'utf8' });
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
  });
});
