// ReplaySession: the program's run replayed from its log. Built in layers, one concept a
// file: replay-log.ts reads the log and reports divergences, replay-dispatcher.ts runs the
// turns, replay-values.ts serves values and checks calls and outputs; this file checks how
// the run ends (its exit, uncaught failures, failed tests).
import { describeEnd } from '../trace/describe.js';
import type { EndInfo } from '../trace/format.js';
import { original, writeStderr } from '../node/originals.js';
import { ReplayValues } from './replay-values.js';
import type { SessionApi } from './session.js';
import { errorLine, failureInfo } from './failure.js';

export type { ReplayHook, ReplayOptions } from './replay-log.js';

/** A stack on one line, as the report shows it. */
const escaped = (s: string): string => JSON.stringify(s).slice(1, -1);
export type { ReplayOp } from './replay-dispatcher.js';

export class ReplaySession extends ReplayValues implements SessionApi {
  readonly mode = 'replay' as const;
  /** Replay never has chaos: the log holds the schedule chaos made. */
  readonly chaos = null;

  /** Called as the program emits 'exit', before its listeners run. */
  exiting(code: number): void {
    this.passTurn();
    const head = this.peek();
    if (!head) return this.logEnded(`exited with code ${code}`);
    if (head.kind === 'turn' || head.kind === 'signal') this.mismatch(this.exitedHow(code));
  }

  private exitedHow(code: number): string {
    return `exited with code ${code}${this.parked ? ` after going idle (${this.parked})` : ''}`;
  }

  /** Called after the program's 'exit' listeners ran. */
  exited(code: number): void {
    this.takeEnd(`exited with code ${code}`, this.exitedHow(code), (end) => end.code === code);
    // The program's own exit handlers, run after rewind's, recorded on (record.ts end()).
    if (this.peek() !== null) this.afterEnd = true;
    else this.complete();
  }

  /**
   * The process ends here as `end` says, without the 'exit' event and its handlers (the
   * program process.execve started has ended: sources/process.ts); the log must end so too.
   */
  endsAs(end: EndInfo): void {
    const how = `ended with ${describeEnd(end)}`;
    this.takeEnd(how, how, (e) => e.code === end.code && e.signal === end.signal);
    this.complete();
  }

  /**
   * Consumes the end record, which must come next and be as `matches` says: otherwise the log
   * ended before it (`ended`), or holds something else (a divergence: the program `actual`).
   */
  private takeEnd(ended: string, actual: string, matches: (end: EndInfo) => boolean): void {
    const head = this.peek();
    if (!head) return this.logEnded(ended);
    if (head.kind !== 'end' || !matches(head.end!)) this.mismatch(actual);
    this.skip();
    this.endPassed = true;
    this.recordedEnd = head.end!;
  }

  private recordedEnd: EndInfo | null = null;

  /**
   * The process ends for good (reallyExit, which every exit wrapper calls last): events the
   * program's exit handlers recorded after the end record and did not do here are a divergence.
   * (A process ending naturally or on an uncaught error has no such last call: there a replay
   * that does less than the recording after its end is not caught.)
   */
  leaving(code: number): void {
    if (this.afterEnd) this.mismatch(this.exitedHow(code));
  }

  protected override complete(): void {
    super.complete();
    if (this.options.summary && this.recordedEnd) {
      writeStderr(
        `rewind: replay complete: ${this.n} of ${this.file.eventCount} events matched the recording, ` +
          `${this.outputs} writes identical, ${describeEnd(this.recordedEnd)}\n`,
      );
    }
  }

  /** An uncaught exception or unhandled rejection reached the top. */
  failure(err: unknown, origin: string): void {
    const info = failureInfo(err, origin); // first, as recording did: see testFailed
    const head = this.peek();
    const actual = `threw ${origin === 'unhandledRejection' ? 'an unhandled rejection' : 'an uncaught exception'}: ${errorLine(err)}`;
    if (!head) return this.logEnded(actual);
    if (head.kind !== 'failure') this.mismatch(actual);
    const f = head.failure!;
    if (f.message !== info.message || f.name !== info.name) this.mismatch(actual);
    // Node prints an uncaught error's stack itself, past the stdio source: checked here. A
    // replay from a moved checkout (see cli/replay.ts) has the recorded directory elsewhere.
    const from = this.header.cwd;
    const recorded = from && from !== this.startCwd ? f.stack.split(from).join(this.startCwd) : f.stack;
    if (!this.header.redacted && recorded !== info.stack)
      this.mismatch(`${actual}, with another stack`, undefined, {
        expected: escaped(recorded),
        actual: escaped(info.stack),
      });
    this.skip();
  }

  /** The directory the replay started in (the recorded one, or where a moved program is). */
  private readonly startCwd = original.processCwd();

  turnWallTime(): number {
    return this.header.startWall + Math.floor(this.lastTurnUs / 1000);
  }

  /** A test runner integration reports a failed test: it must be the recorded one. */
  testFailed(test: string, err: unknown): void {
    if (this.offLog) return;
    // First, as recording did: reading the error's stack runs the program's
    // Error.prepareStackTrace (jest's source maps), which may read files.
    const info = failureInfo(err, 'test');
    const head = this.peek();
    const actual = `failed the test ${JSON.stringify(test)}: ${errorLine(err)}`;
    if (!head) return this.logEnded(actual);
    const f = head.failure;
    if (!f || f.origin !== 'test' || f.test !== test || f.message !== info.message) this.mismatch(actual);
    this.skip();
    // A test runner reports its failures elsewhere (vitest, in its main process): say it here.
    writeStderr(`rewind: test failed, as recorded (event ${this.n}): ${test}\n${f.stack}\n`);
  }
}
