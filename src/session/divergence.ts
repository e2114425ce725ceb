// The divergence report: the replay stops at the first event where the program asks for
// something other than what the log holds, says where, and exits with EXIT.DIVERGENCE (ReplayLog.stop).

export interface DivergenceReport {
  /** The event number the program was about to consume. */
  event: number;
  /** Total events in the recording. */
  total: number;
  /** The worker thread whose log it is (Node's thread id); none for a process's main thread. */
  thread?: number;
  /** What the log holds at that event. */
  expected: string;
  /** What the program did instead. */
  actual: string;
  /** The program's JS stack at the divergence, or null when it was idle. */
  stack: string | null;
  /**
   * The two sides in full (expected and actual are cut to one line): where they first
   * differ, with context on both sides, when that is past what the cut lines show.
   */
  full?: { expected: string; actual: string };
  /** The recording is a redacted copy: its rules. */
  redacted?: string[];
}

/** Characters of context shown before and after the first difference. */
const BEFORE = 30;
const AFTER = 40;

/** The first differing position of the two full texts and a window around it, or '' when the short lines show it. */
export function firstDifference(expected: string, actual: string, shown = 50): string {
  if (expected === actual) return '';
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  if (i < shown) return '';
  const from = Math.max(0, i - BEFORE);
  const cut = (s: string) => `${from > 0 ? '…' : ''}${s.slice(from, i + AFTER)}${s.length > i + AFTER ? '…' : ''}`;
  const end = (s: string) => (i >= s.length ? ' (ends here)' : '');
  const caret = ' '.repeat(i - from + (from > 0 ? 1 : 0));
  return (
    `  first difference at character ${i + 1}:\n` +
    `    recording: ${cut(expected)}${end(expected)}\n` +
    `    program:   ${cut(actual)}${end(actual)}\n` +
    `               ${caret}^\n`
  );
}

export function formatDivergence(r: DivergenceReport): string {
  const stack =
    r.stack === null
      ? '    (no JS was running: the program was waiting for events)'
      : r.stack || '    (no program frames)';
  return (
    `rewind: divergence at event ${r.event} (of ${r.total})${r.thread === undefined ? '' : ` of worker thread ${r.thread}`}\n` +
    `  the recording has: ${r.expected}\n` +
    `  the program did:   ${r.actual}\n` +
    (r.full ? firstDifference(r.full.expected, r.full.actual) : '') +
    `  program stack:\n${stack}\n` +
    (r.redacted ? redactionNote(r) : '') +
    `The replay no longer follows the recording, so it stopped here instead of drifting. ` +
    `If the program, its files or its Node version changed since it was recorded, record it again. ` +
    `If nothing changed, the program depends on something rewind does not capture yet: ` +
    `\`rewind events\` shows what was recorded around event ${r.event}.\n`
  );
}

/** Why a redacted recording may diverge: the program computed on a value that is not in it. */
function redactionNote(r: DivergenceReport): string {
  const shown = /<redacted:\d+>|#\d+\*/.test(`${r.expected} ${r.actual}`);
  return (
    `  ${shown ? 'this value was redacted' : 'this recording is redacted'} (rules: ${r.redacted!.join(', ')}): secrets were replaced by placeholders ` +
    `of the same length, so where the program computes on one (hashes it, checks it, sends it and reads the answer), the replay ` +
    `cannot follow. Replay the original recording for that part.\n`
  );
}
