// Mutated recordings (header fields of the wrong type or range, a bad index.json, chunks
// duplicated, dropped, reordered, cut or corrupted) through info, ps, events and replay's
// start: every one is read or refused with a message (exit 65), never an internal error.
// The longer run is `npm run fuzz` (scripts/fuzz.mjs).
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE, cleanupTempDirs, logsOf, rewind, tempDir } from './helpers.js';
// A JavaScript module shared with scripts/fuzz.mjs (type-checked as JavaScript: tsconfig.test.json).
import { EXIT } from '../src/exit-codes.js';
import { COMMANDS, buildMutant, mutationArb, runInProcess, takeApart, writeMutant } from '../scripts/fuzz-mutants.mjs';

afterAll(cleanupTempDirs);

describe('fuzzed recordings never crash rewind', { timeout: 120_000 }, () => {
  let parts: ReturnType<typeof takeApart>;
  let indexText: string;
  let work: string;
  beforeAll(async () => {
    const dir = tempDir('rewind-fuzz-');
    fs.writeFileSync(
      path.join(dir, 'app.js'),
      'const fs = require("fs"); console.log(Date.now(), Math.random()); fs.readFileSync(__filename);\n' +
        'let n = 0; const t = setInterval(() => { console.log("tick", n, performance.now() > 0); if (++n === 40) { clearInterval(t); process.exitCode = 2; } }, 0);\n',
    );
    const r = await rewind(['record', '--out', 'rec', '--', NODE, 'app.js'], { cwd: dir });
    expect(r.status).toBe(2);
    const [log] = logsOf(path.join(dir, 'rec'));
    parts = takeApart(fs.readFileSync(log));
    indexText = fs.readFileSync(path.join(dir, 'rec', 'index.json'), 'utf8');
    work = path.join(dir, 'mutant');
  });

  it('mutants of a valid recording × info, ps, events, replay', async () => {
    const seen = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(mutationArb(parts.header), async (m) => {
        writeMutant(work, buildMutant(parts, indexText, m));
        for (const cmd of COMMANDS) {
          const r = await runInProcess(cmd, work);
          if (r.outcome === 'internal') throw new Error(`${cmd}: ${r.message}`);
          // Refused as unusable (65), or, a mutant being unsigned, as naming start-up code it
          // would run (77: the trust refusal, which says so and how to go on).
          if (r.outcome === 'refused' && r.status === EXIT.NOT_TRUSTED)
            expect(r.message, cmd).toMatch(/would run code it names at start-up:[\s\S]*replay with --trust/);
          else if (r.outcome === 'refused') expect(r.status, `${cmd}: ${r.message}`).toBe(EXIT.BAD_TRACE);
          seen[r.outcome as 'ok' | 'refused']++;
        }
      }),
      { numRuns: 200, seed: Number(process.env.FUZZ_SEED ?? 1) },
    );
    // The mutations reach both sides: some recordings still read, many are refused.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
