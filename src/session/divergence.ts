// The divergence report: the replay stops at the first event where the program asks for
// something other than what the log holds, says where, and exits with EXIT.DIVERGENCE.
import { EXIT } from '../exit-codes.js';
import { original, writeStderr } from './originals.js';

export interface DivergenceReport {
  /** The event number the program was about to consume. */
  event: number;
  /** Total events in the recording. */
  total: number;
  /** What the log holds at that event. */
  expected: string;
  /** What the program did instead. */
  actual: string;
  /** The program's JS stack at the divergence, or null when it was idle. */
  stack: string | null;
}

export function formatDivergence(r: DivergenceReport): string {
  const stack = r.stack === null ? '    (no JS was running: the program was waiting for events)' : r.stack || '    (no program frames)';
  return (
    `rewind: divergence at event ${r.event} (of ${r.total})\n` +
    `  the recording has: ${r.expected}\n` +
    `  the program did:   ${r.actual}\n` +
    `  program stack:\n${stack}\n` +
    `The replay no longer follows the recording, so it stopped here instead of drifting. ` +
    `If the program, its files or its Node version changed since it was recorded, record it again. ` +
    `If nothing changed, the program depends on something rewind does not capture yet: ` +
    `\`rewind events\` shows what was recorded around event ${r.event}.\n`
  );
}

export function divergence(r: DivergenceReport): never {
  writeStderr(formatDivergence(r));
  return original.reallyExit(EXIT.DIVERGENCE);
}
