// `rewind redact RECORDING --out COPY [--rules RULES]` and `rewind record --redact[=RULES]`:
// a copy of a recording without its secrets (session/redact.ts), to share it.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { parseRules, redactRecording, type RedactRules, type RedactResult } from '../session/redact.js';
import { CliError, resolveRecording } from './recordings.js';
import { outDir, outputError } from './record.js';
import { shownPath } from '../shell.js';

/** The rules of --redact=RULES / --rules RULES; a bad rule is a usage error. */
export function rulesOf(spec: string | boolean | undefined): RedactRules {
  try {
    return parseRules(typeof spec === 'string' ? spec : undefined);
  } catch (e) {
    throw new CliError(`rewind: ${(e as Error).message}.`, EXIT.USAGE);
  }
}

const summary = (r: RedactResult, where: string) =>
  `rewind: redacted ${r.secrets} secret${r.secrets === 1 ? '' : 's'} (${r.replaced} occurrence${r.replaced === 1 ? '' : 's'} in the events) in ${r.logs} log${r.logs === 1 ? '' : 's'}: ${where}\n`;

export function redact(arg: string | undefined, opts: { out?: string; rules?: string }): void {
  const rules = rulesOf(opts.rules);
  if (!opts.out)
    throw new CliError(
      'rewind: `rewind redact` needs --out COPY: the directory for the redacted copy (the recording itself is left as it is).',
      EXIT.USAGE,
    );
  const rec = resolveRecording(arg);
  const out = outDir(opts.out);
  if (fs.readdirSync(out.dir).length > 0)
    throw new CliError(
      `rewind: ${out.dir} is not empty: choose a new or empty directory for the redacted copy.`,
      EXIT.USAGE,
    );
  let result: RedactResult;
  try {
    result = redactRecording(rec.processes ? rec.dir : path.dirname(rec.log), out.dir, rules);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code) throw outputError(err, `write the redacted copy into ${out.dir}`);
    throw e;
  }
  process.stderr.write(summary(result, `the copy is ${shownPath(out.dir)}`));
}

/** `record --redact`: the recording just made is replaced by its redacted copy. */
export function redactInPlace(dir: string, spec: string | boolean): void {
  const rules = rulesOf(spec);
  const tmp = path.join(dir, '.redacting');
  fs.rmSync(tmp, { recursive: true, force: true });
  const result = redactRecording(dir, tmp, rules);
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.rwnd.sig')) fs.rmSync(path.join(dir, f));
  for (const f of fs.readdirSync(tmp)) fs.renameSync(path.join(tmp, f), path.join(dir, f));
  fs.rmdirSync(tmp);
  if (process.stderr.isTTY) process.stderr.write(summary(result, shownPath(dir)));
}
