// The published package: `npm pack`, installed into a fresh project (dependencies from npm's
// cache, the registry only for what the cache lacks), then `npx rewind` records and replays
// a program there (the binary npx runs), and `--import rewind-replay/register` works as the README says.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { NODE, ROOT, baseEnv, cleanupTempDirs, describeRun, logsOf, run, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const INSTALL_MS = 240_000;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/** The program: a clock, random bytes and a file read, which the test changes before the replay. */
const PROGRAM = `import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
setTimeout(() => {
  console.log('read', fs.readFileSync(new URL('./input.txt', import.meta.url), 'utf8').trim());
  console.log('uuid', randomUUID(), 'at', Date.now(), Math.random());
}, 10);
`;

describe('the npm package', () => {
  let project: string;
  // Not the npm settings this suite may run under (`npx -p node@24 …` sets npm_config_package).
  const env = baseEnv(
    Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => /^npm_/i.test(k))
        .map((k) => [k, undefined]),
    ),
  );
  Object.assign(env, { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });
  /**
   * The installed binary, as npx runs it (node_modules/.bin/rewind, a shell script on POSIX),
   * with the Node this suite runs on first in PATH: the one its CLI then runs on.
   */
  const rewindBin = (args: string[]) =>
    run(path.join(project, 'node_modules', '.bin', 'rewind'), args, {
      cwd: project,
      env: { ...env, PATH: `${path.dirname(NODE)}${path.delimiter}${env.PATH ?? ''}` },
      timeoutMs: INSTALL_MS,
    });

  beforeAll(async () => {
    // dist/ is built by `npm test` (and CI) before the suite: --ignore-scripts does not build it again.
    const out = tempDir('rewind-pack-');
    const packed = await run(NPM, ['pack', '--ignore-scripts', '--pack-destination', out, '--json'], {
      cwd: ROOT,
      env,
      timeoutMs: INSTALL_MS,
    });
    if (packed.status !== 0) throw new Error(describeRun('npm pack', packed));
    const [{ filename }] = JSON.parse(packed.stdout.toString()) as { filename: string }[];
    project = tempDir('rewind-project-');
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
    );
    fs.writeFileSync(path.join(project, 'app.js'), PROGRAM);
    const installed = await run(
      NPM,
      ['install', '--prefer-offline', '--ignore-scripts', '--save-dev', path.join(out, filename)],
      {
        cwd: project,
        env,
        timeoutMs: INSTALL_MS,
      },
    );
    if (installed.status !== 0) throw new Error(describeRun('npm install', installed));
  }, INSTALL_MS * 2);

  it(`installs as ${pkg.name}, with the rewind binary`, ({ expect }) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
    expect(manifest.devDependencies).toHaveProperty(pkg.name);
    const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', pkg.name, 'package.json'), 'utf8'));
    expect(installed.version).toBe(pkg.version);
    expect(fs.existsSync(path.join(project, 'node_modules', '.bin', 'rewind'))).toBe(true);
  });

  // Under `npx -p node@N` (how .ci/run runs the suite on Node 22 and 24) a nested npx looks for
  // that Node package instead: npx itself is checked on the Node npm runs on.
  it.skipIf(process.env.npm_config_package !== undefined)(
    'npx rewind runs the installed binary',
    async ({ expect }) => {
      const r = await run(NPX, ['--no-install', 'rewind', '--version'], { cwd: project, env, timeoutMs: INSTALL_MS });
      expect(r.status, describeRun('npx rewind --version', r)).toBe(0);
      expect(r.stdout.toString().trim()).toBe(pkg.version);
    },
  );

  it('rewind records a program there, and replays it after its input changed', async ({ expect }) => {
    fs.writeFileSync(path.join(project, 'input.txt'), 'recorded input\n');
    const rec = await rewindBin(['record', '--out', 'rec', '--', NODE, 'app.js']);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(/^read recorded input\nuuid [0-9a-f-]{36} at \d+ 0\.\d+\n$/);
    fs.writeFileSync(path.join(project, 'input.txt'), 'changed input\n');
    const rep = await rewindBin(['replay', 'rec']);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
  });

  it(`node --import ${pkg.name}/register records into REWIND_DIR; rewind replays it`, async ({ expect }) => {
    fs.writeFileSync(path.join(project, 'input.txt'), 'preloaded input\n');
    const dir = path.join(project, 'preloaded');
    const rec = await run(NODE, ['--import', `${pkg.name}/register`, 'app.js'], {
      cwd: project,
      env: { ...env, REWIND_DIR: dir },
    });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(/^read preloaded input\n/);
    const [log] = logsOf(dir);
    fs.rmSync(path.join(project, 'input.txt'));
    const rep = await rewindBin(['replay', log]);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
  });
});
