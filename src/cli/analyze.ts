// `rewind analyze RECORDING [--passing B] [--json] [-p PID] [--test NAME]`: why did this run
// fail? Finds a passing run (re-running the recorded command plainly, then with chaos
// seeds) unless given one, then searches between the two orders of turns, each candidate
// run live under a forced schedule (src/analyze/search.ts), for the two events whose order
// decides; or, when no order does, names the value that differs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keysIn } from '../analyze/align.js';
import { diffRuns, turnInfo, type TurnInfo, type ValueDiff } from '../analyze/diff.js';
import { placesOf } from '../analyze/match.js';
import { readRun, type RunModel } from '../analyze/run.js';
import { bisect, candidateOrder, type Verdict } from '../analyze/search.js';
import { DEFAULT_WAIT_MS, entryOf, following } from '../analyze/schedule-file.js';
import { sharedState, type SharedState, type StateFinding } from '../analyze/state.js';
import { EXIT } from '../exit-codes.js';
import type { ScheduleEntry, ScheduleSpec } from '../session/schedule.js';
import { STORE_DIR, recordingName, programName, type RecordingIndex } from '../trace/store.js';
import { eventSites } from './replay-until.js';
import { runRecording, type ExitStatus } from './record.js';
import {
  CliError,
  defaultProcess,
  processesOf,
  resolveRecording,
  type RecordedProcess,
  type Recording,
} from './recordings.js';
import { runScheduled } from './schedule.js';
import { printable, shellWord, shownPath } from '../shell.js';
import { showSite } from './replayed.js';

export interface AnalyzeOptions {
  passing?: string;
  json?: boolean;
  process?: string;
  test?: string;
  /** Plain re-runs, then chaos seeds, tried to find a passing run. */
  tries?: number;
  allowNative?: string[];
  /** The command to re-run (after --): default, the recorded one. */
  command?: string[];
  /** Seconds allowed to name the shared state (0: not looked for). */
  stateBudget?: number;
}

interface Run {
  dir: string;
  status: ExitStatus;
  processes: RecordedProcess[];
  /** Stopped after killAfterMs: it hung. */
  timedOut?: boolean;
}

interface Outcome {
  verdict: Verdict;
  why: string | null;
  run: Run;
}

/**
 * An order run live several times: its outcome is not always decided by the order alone
 * (concurrent thread-pool syscalls run in the order the OS picks; a live run may create its
 * operations in another order), so a verdict counts runs.
 */
interface Trial extends Outcome {
  /** Runs that failed, of runs. */
  fails: number;
  runs: number;
}

/** How many times an order is run at most before its verdict is taken. */
const TRIES = 3;

const say = (text: string) => process.stderr.write(`rewind: ${text}\n`);

export async function analyze(arg: string | undefined, opts: AnalyzeOptions): Promise<never> {
  const failing = resolveRecording(arg, process.cwd(), opts.process);
  const processes = failing.processes ?? processesOf(failing.dir).filter((p) => p.log === failing.log);
  const target = processes.find((p) => p.log === failing.log) ?? defaultProcess(processes);
  const place = [...placesOf(processes)].find(([, p]) => p === target)?.[0] ?? target.name;
  const command = opts.command?.length
    ? opts.command
    : (failing.index?.command ?? [process.execPath, ...target.trace.header.argv.slice(1)]);
  const cwd = failing.index?.cwd ?? target.trace.header.cwd;
  const passingArg = opts.passing === undefined ? undefined : path.resolve(opts.passing);
  const why = judge(opts.test);
  const stateBudget = opts.stateBudget ?? 30;
  if (!(stateBudget >= 0) || !Number.isFinite(stateBudget))
    throw new CliError(`rewind: --state-budget takes a number of seconds (0 or more).`, EXIT.USAGE);
  const failed = why({
    dir: failing.dir,
    status: failing.index?.status
      ? { code: failing.index.status.code, signal: failing.index.status.signal as NodeJS.Signals | null }
      : { code: target.end?.code ?? null, signal: null },
    processes,
  });
  if (failed === null) {
    throw new CliError(
      `rewind: the recording ${shownPath(failing.dir)} did not fail` +
        (opts.test ? ` (no failed test ${JSON.stringify(opts.test)})` : '') +
        ': analyze explains a failing run. Give it the failing one (rewind record --until-fail keeps one).',
      EXIT.USAGE,
    );
  }
  try {
    process.chdir(cwd);
  } catch {
    throw new CliError(
      `rewind: cannot enter ${cwd}, where the recorded command ran: analyze re-runs it there.`,
      EXIT.USAGE,
    );
  }
  const work = fs.mkdtempSync(path.join(ensureStore(cwd), '.analyze-'));
  let stopped = false;
  const onStop = () => {
    if (!stopped) say('stopping: keeping what was found so far (Ctrl-C again to quit at once)');
    else process.exit(130);
    stopped = true;
  };
  process.on('SIGINT', onStop);
  let runs = 0;
  // A candidate that hangs (an order the program never recovers from) is stopped:
  // after 20 times the recorded run's duration, 30 s at least.
  const recordedMs = failing.index?.ended ? Date.parse(failing.index.ended) - Date.parse(failing.index.started) : 0;
  const killAfterMs = Math.max(30_000, 20 * (Number.isFinite(recordedMs) ? recordedMs : 0));
  let hung = 0;
  const runInto = async (schedule: ScheduleSpec | null, seed?: number): Promise<Run> => {
    const dir = path.join(work, `run-${++runs}`);
    fs.mkdirSync(dir);
    const out = { dir, created: dir };
    const index: RecordingIndex = { command, cwd, started: new Date().toISOString() };
    if (seed !== undefined) index.chaos = { seed };
    const started = Date.now();
    const status = schedule
      ? await runScheduled(command, out, schedule, { killAfterMs }, true)
      : await runRecording(command, out, { seed, quiet: true, killAfterMs }, index);
    const timedOut = status.signal === 'SIGKILL' && Date.now() - started >= killAfterMs;
    return { dir, status, processes: processesOf(dir), timedOut };
  };
  const outcome = async (r: Run): Promise<Outcome> => {
    if (r.timedOut) {
      // Not the failure analyzed: counted as not failing, and said.
      hung++;
      return { verdict: 'passes', why: null, run: r };
    }
    const w = why(r);
    return { verdict: w === null ? 'passes' : 'fails', why: w, run: r };
  };

  try {
    // The passing run: given, or found.
    let passing: { dir: string; processes: RecordedProcess[] } | null = null;
    if (passingArg) {
      const rec = resolveRecording(passingArg);
      const list = rec.processes ?? processesOf(rec.dir).filter((p) => p.log === rec.log);
      passing = { dir: rec.dir, processes: list };
    } else {
      const tries = opts.tries ?? 12;
      for (let i = 0; i < tries && !passing && !stopped; i += 2) {
        const batch = [i, i + 1].filter((j) => j < tries).map((j) => (j < 2 ? undefined : j - 1));
        say(
          `looking for a passing run: ${batch.map((s) => (s === undefined ? 'plain' : `chaos seed ${s}`)).join(', ')}`,
        );
        const got = await Promise.all(batch.map((seed) => runInto(null, seed).then(outcome)));
        if (stopped) break;
        const ok = got.find((o) => o.verdict === 'passes');
        if (ok) passing = ok.run;
      }
      if (!passing) {
        throw new CliError(
          'rewind: no passing run found' +
            (stopped ? ' before the stop: ' : ` in ${tries} tries (plain, then chaos seeds): `) +
            'the command fails every time, so no order of events explains it. ' +
            `Replay the failure: rewind replay ${shellWord(shownPath(failing.dir))}`,
          EXIT.USAGE,
        );
      }
    }
    const passProc =
      placesOf(passing.processes.filter((p) => !p.passThrough)).get(place) ??
      (passing.processes.length === 1 ? passing.processes[0] : undefined);
    if (!passProc)
      throw new CliError(
        `rewind: the passing run has no process ${place} to compare with the failing one's (pid ${target.pid}).`,
        EXIT.USAGE,
      );
    const F = readRun(target.trace);
    const P = readRun(passProc.trace);
    const fOrder = F.turns.map((t) => t.key);
    // The passing order in the failing run's op ids (its operations may have been created in
    // another order: src/analyze/align.ts). A candidate that runs the failing order's first k
    // turns creates its operations as the failing run did, so the rest of its order is named
    // in the failing run's ids; one whose first k turns are the passing order's too runs the
    // passing order, named in its own ids.
    const pOrder = keysIn(F, P);
    const pOwn = P.turns.map((t) => t.key);
    let common = 0;
    while (common < fOrder.length && fOrder[common] === pOrder[common]) common++;
    // Which entry of the schedule this process takes: the n-th of its program.
    const rank = processes
      .filter(
        (p) =>
          !p.passThrough &&
          p.threadId === target.threadId &&
          programName(p.trace.header.argv) === programName(target.trace.header.argv),
      )
      .indexOf(target);
    const base = entryOf(passProc.trace);
    const specOf = (order: string[], randomSeed = base.randomSeed): ScheduleSpec => {
      const entry: ScheduleEntry = {
        ...base,
        randomSeed,
        turns: order.map((k) => k.split('.').map(Number) as [number, number]),
      };
      const before: ScheduleEntry[] = Array.from({ length: Math.max(0, rank) }, () => ({ ...base, turns: [] }));
      return { rewindSchedule: 1, from: 'rewind analyze', waitMs: DEFAULT_WAIT_MS, processes: [...before, entry] };
    };
    /**
     * Runs `spec` until its verdict is known. 'majority': two runs at once, a third when they
     * disagree. 'fails' / 'passes': one at a time until one does (TRIES at most): the failing
     * order is taken to fail if it fails once, the passing one to pass if it passes once.
     */
    const trial = async (spec: () => ScheduleSpec, rule: 'majority' | Verdict): Promise<Trial> => {
      const seen: Outcome[] = [];
      const counted = (verdict: Verdict): Trial => {
        const fails = seen.filter((o) => o.verdict === 'fails').length;
        return { ...seen.find((o) => o.verdict === verdict)!, verdict, fails, runs: seen.length };
      };
      if (rule === 'majority') {
        seen.push(...(await Promise.all([0, 1].map(async () => outcome(await runInto(spec()))))));
        if (seen[0].verdict !== seen[1].verdict && !stopped) seen.push(await outcome(await runInto(spec())));
        const fails = seen.filter((o) => o.verdict === 'fails').length;
        return counted(fails * 2 > seen.length ? 'fails' : 'passes');
      }
      while (seen.length < TRIES && !seen.some((o) => o.verdict === rule) && !(stopped && seen.length > 0))
        seen.push(await outcome(await runInto(spec())));
      return counted(seen.some((o) => o.verdict === rule) ? rule : rule === 'fails' ? 'passes' : 'fails');
    };
    const candidates = new Map<number, Trial>();
    // Two candidates may run the same order (the failing order's next turn is where the passing
    // order has it already): one experiment, one verdict, or noise would part them.
    const byOrder = new Map<string, Promise<Trial>>();
    const n = fOrder.length;
    const candidate = async (k: number, rule: 'majority' | Verdict = 'majority'): Promise<Trial> => {
      const known = candidates.get(k);
      if (known) return known;
      // One that runs the passing order takes its verdict (noise must not part them).
      if (k > 0 && k <= common && candidates.has(0)) {
        candidates.set(k, candidates.get(0)!);
        return candidates.get(0)!;
      }
      const order = k <= common ? pOwn : candidateOrder(fOrder, pOrder, k);
      const key = order.join(' ');
      // The two ends are judged by their own rules; a candidate between takes an end's verdict when it runs its order.
      let pending = rule === 'majority' ? byOrder.get(key) : undefined;
      if (!pending) {
        pending = trial(() => specOf(order), rule);
        if (!byOrder.has(key)) byOrder.set(key, pending);
      }
      const o = await pending;
      candidates.set(k, o);
      return o;
    };
    const trials = () =>
      [...candidates].sort(([a], [b]) => a - b).map(([k, t]) => ({ candidate: k, fails: t.fails, runs: t.runs }));
    /** Did every one of `deferred` run after `bKey` (or not at all) in this candidate's process? */
    const ranAfter = (o: Outcome, deferred: string[], bKey: string): boolean => {
      const proc =
        placesOf(o.run.processes.filter((p) => !p.passThrough)).get(place) ??
        (o.run.processes.length === 1 ? o.run.processes[0] : undefined);
      if (!proc) return false;
      const keys = readRun(proc.trace).turns.map((t) => t.key);
      const at = keys.indexOf(bKey);
      return at >= 0 && deferred.every((k) => keys.indexOf(k) < 0 || keys.indexOf(k) > at);
    };
    say(`comparing the failing run (${n} turns) with a passing one (${pOrder.length} turns); trying both orders live`);
    const [atPass, atFail] = await Promise.all([candidate(0, 'passes'), candidate(n, 'fails')]);
    let report: Report;
    if (stopped) {
      const note = 'stopped before the two orders had been tried: nothing found yet';
      report = { kind: 'inconclusive', candidates: 0, stopped: true, failure: failed, note };
    } else if (atFail.verdict === 'passes' || atPass.verdict === 'fails') {
      // The order alone does not decide. Math.random's numbers might: the failing order again,
      // with the failing run's seed (a value rewind can force; an I/O result or a clock it cannot).
      // Named only if that fails every time (TRIES runs): a program that fails now and then
      // whatever its seed (agentkeepalive #23) must not pass for one that a seed decides.
      const seeded =
        atFail.verdict === 'passes' && F.header.randomSeed.join() !== P.header.randomSeed.join()
          ? await trial(() => specOf(fOrder, F.header.randomSeed), 'passes')
          : null;
      report = valueReport(F, P, failing.dir, passing.dir, { atFail, atPass, seeded }, candidates.size, failed);
      if (seeded) report.candidates += seeded.runs > 0 ? 1 : 0;
    } else {
      const progress = process.stderr.isTTY;
      // Each candidate runs twice at once (see trial): one candidate at a time on 2 cores.
      const width = Math.max(1, Math.floor(os.availableParallelism() / 2));
      const b = await bisect(
        0,
        n,
        Math.min(2, width),
        async (k) => (await candidate(k)).verdict,
        (r) => {
          const line =
            `tried ${candidates.size} candidates: ` +
            `the order decides between turns ${r.lo} and ${r.hi} of the failing run's ${n}`;
          if (progress) process.stderr.write(`\r\x1b[Krewind: ${line}`);
          else say(line);
        },
        () => stopped,
      );
      if (progress) process.stderr.write('\n');
      let fail = candidates.get(b.hi)!;
      let pass = candidates.get(b.lo)!;
      let orders = pairOrders(fOrder, pOrder, b.lo, b.hi);
      // Candidate hi runs the failing order's turn B ahead of every turn candidate lo ran
      // before it (the span). Not all of those matter (a completion that merely came in
      // between): bisect over how much of the span is deferred after B for the first turn
      // whose place after B fails (the start of what B raced, not a step it later took).
      const span = orders.pass.slice(b.hi - 1, orders.pass.indexOf(orders.bKey));
      let tried = candidates.size;
      const partnerTrials: { deferred: number; fails: number; runs: number }[] = [];
      if (!b.stopped && span.length > 1) {
        const prefix = orders.pass.slice(0, b.hi - 1);
        // j = how many of the span's first turns run after B: 0 is candidate lo, span.length candidate hi.
        const orderOf = (j: number) => {
          const head = [...prefix, ...span.slice(j), orders.bKey, ...span.slice(0, j)];
          const taken = new Set(head);
          return [...head, ...orders.pass.filter((t) => !taken.has(t))];
        };
        const partners = new Map<number, { o: Trial; verdict: Verdict }>([
          [0, { o: pass, verdict: 'passes' }],
          [span.length, { o: fail, verdict: 'fails' }],
        ]);
        const partner = async (j: number): Promise<Verdict> => {
          const known = partners.get(j);
          if (known) return known.verdict;
          const o = await trial(() => specOf(orderOf(j)), 'majority');
          // A pass says something only if the deferred turns did run after B: one the live run
          // could not hold back (a worker's message) is never passed over untested.
          const verdict = o.verdict === 'passes' && !ranAfter(o, span.slice(0, j), orders.bKey) ? 'fails' : o.verdict;
          partners.set(j, { o, verdict });
          return verdict;
        };
        say(`B overtook ${span.length} turns: finding the one whose order with B decides`);
        const p = await bisect(
          0,
          span.length,
          Math.min(2, width),
          partner,
          () => {},
          () => stopped,
        );
        tried += partners.size - 2;
        for (const [j, { o }] of partners)
          if (j > 0 && j < span.length) partnerTrials.push({ deferred: j, fails: o.fails, runs: o.runs });
        if (!p.stopped) {
          const at = partners.get(p.hi)!;
          pass = partners.get(p.lo)!.o;
          if (at.o.verdict === 'fails') fail = at.o;
          orders = {
            pass: orderOf(p.lo),
            fail: at.o.verdict === 'fails' ? orderOf(p.hi) : orders.fail,
            aKey: span[p.hi - 1],
            bKey: orders.bKey,
          };
        }
      }
      let cut = b.stopped || stopped;
      let chosen = { run: F, orders, lo: b.lo, hi: b.hi, fail, pass };
      // The other way round: the passing order's first k turns, then the rest in the failing
      // order's, for the smallest k that passes. When a failure needs two reorderings (the
      // first attempt's error before the second namespace connects, then that namespace's
      // error before the reconnect timer: socket.io #3358), the search above names the later,
      // whose other order the passing order's rest forces, and this one the earlier: the pair
      // that decides first in the failing run is named.
      if (!cut) {
        const fInP = keysIn(P, F);
        let commonP = 0;
        while (commonP < pOwn.length && pOwn[commonP] === fInP[commonP]) commonP++;
        const m = pOwn.length;
        const orderAt = (k: number) => candidateOrder(pOwn, fInP, k);
        const mirror = new Map<number, Trial>([
          [0, atFail],
          [m, atPass],
        ]);
        const flip = (v: Verdict): Verdict => (v === 'fails' ? 'passes' : 'fails');
        const mirrored = async (k: number): Promise<Verdict> => {
          // One that runs the failing order takes its verdict.
          let o = mirror.get(k <= commonP ? 0 : k);
          if (!o) {
            const order = k <= commonP ? fOrder : orderAt(k);
            const key = order.join(' ');
            let pending = byOrder.get(key);
            if (!pending) byOrder.set(key, (pending = trial(() => specOf(order), 'majority')));
            o = await pending;
          }
          mirror.set(k, o);
          return flip(o.verdict);
        };
        say('searching the other way: the passing order first, then the failing one');
        const mb = await bisect(
          0,
          m,
          Math.min(2, width),
          mirrored,
          () => {},
          () => stopped,
        );
        tried += mirror.size - 2;
        cut = mb.stopped || stopped;
        // Candidate hi runs the passing order's turn B' ahead of the failing order's turns that candidate lo ran before it.
        const loOrder = orderAt(mb.lo);
        const moved = pOwn[mb.hi - 1];
        const span = loOrder.slice(mb.hi - 1, loOrder.indexOf(moved));
        if (!cut && span.length > 0) {
          const prefix = loOrder.slice(0, mb.hi - 1);
          const orderOf = (j: number) => {
            const head = [...prefix, ...span.slice(j), moved, ...span.slice(0, j)];
            const taken = new Set(head);
            return [...head, ...loOrder.filter((t) => !taken.has(t))];
          };
          const partners = new Map<number, Trial>([
            [0, mirror.get(mb.lo)!],
            [span.length, mirror.get(mb.hi)!],
          ]);
          const partner = async (j: number): Promise<Verdict> => {
            let o = partners.get(j);
            if (!o) partners.set(j, (o = await trial(() => specOf(orderOf(j)), 'majority')));
            return flip(o.verdict);
          };
          const p =
            span.length > 1
              ? await bisect(
                  0,
                  span.length,
                  Math.min(2, width),
                  partner,
                  () => {},
                  () => stopped,
                )
              : null;
          tried += partners.size - 2;
          const [plo, phi] = p ? [p.lo, p.hi] : [0, 1];
          // The failing order's turn (A' below) that the passing order's B' must come before: where the failing run has it.
          const other = span[phi - 1];
          const at = fInP.indexOf(other);
          const pf = partners.get(plo);
          const pp = partners.get(phi);
          const movedAt = fInP.indexOf(moved);
          const earlier =
            !(p?.stopped ?? false) &&
            !stopped &&
            pf !== undefined &&
            pp !== undefined &&
            pf.verdict === 'fails' &&
            pp.verdict === 'passes' &&
            at >= 0 &&
            at < b.hi - 1 &&
            movedAt > at;
          // Named only if it decides: the failing order with just these two swapped passes (a
          // failure timing decides as much as the order, a starved thread-pool operation's,
          // can pass a candidate now and then: archiver #388).
          let confirmed = false;
          if (earlier) {
            const swapped = fOrder.filter((t) => t !== fOrder[movedAt]);
            swapped.splice(swapped.indexOf(fOrder[at]), 0, fOrder[movedAt]);
            const check = await trial(() => specOf(swapped), 'majority');
            tried++;
            confirmed = check.verdict === 'passes' && !stopped;
          }
          if (confirmed && pf && pp)
            chosen = {
              run: P,
              orders: { pass: orderOf(phi), fail: orderOf(plo), aKey: moved, bKey: other },
              lo: mb.lo,
              hi: mb.hi,
              fail: pf,
              pass: pp,
            };
        }
      }
      report = await pairReport(
        chosen.run,
        chosen.orders,
        chosen.lo,
        chosen.hi,
        chosen.fail,
        chosen.pass,
        place,
        tried,
        cut,
        stateBudget * 1000,
        opts.allowNative,
      );
      if (partnerTrials.length) report.partnerTrials = partnerTrials;
    }
    report.trials = trials();
    if (hung > 0) {
      const stuck =
        `${hung} candidate run${hung === 1 ? '' : 's'} hung and ${hung === 1 ? 'was' : 'were'} stopped ` +
        `after ${killAfterMs / 1000} s (counted as not failing)`;
      report.note = report.note ? `${report.note}; ${stuck}` : stuck;
    }
    report.kept = keepPair(report, cwd);
    print(report, opts.json === true);
  } finally {
    process.off('SIGINT', onStop);
    fs.rmSync(work, { recursive: true, force: true });
  }
  return process.exit(0);
}

function ensureStore(cwd: string): string {
  const store = path.join(cwd, STORE_DIR);
  fs.mkdirSync(store, { recursive: true, mode: 0o700 });
  return store;
}

/** Why a run failed, or null: as --until-fail counts failures (or, with --test, that test's failure). */
function judge(test: string | undefined): (r: Run) => string | null {
  return (r) => {
    if (test !== undefined) {
      const f = r.processes
        .flatMap((p) => p.failures)
        .find((x) => x.origin === 'test' && (x.test === test || (x.test ?? '').includes(test)));
      return f ? `test failed: ${f.test}: ${f.name}: ${f.message.split('\n')[0]}` : null;
    }
    const culprit = r.processes.find((p) => p.failures.length > 0 && p.failed) ?? r.processes.find((p) => p.failed);
    if (culprit) return culprit.failed;
    if (r.status.signal) return `killed by ${r.status.signal}`;
    if (r.status.code) return `exit code ${r.status.code}`;
    return null;
  };
}

interface Report {
  kind: 'pair' | 'value' | 'inconclusive';
  candidates: number;
  stopped: boolean;
  /** The pair: A ran first in the passing order, B overtook it in the failing one. */
  a?: TurnInfo;
  b?: TurnInfo;
  failure?: string | null;
  value?: ValueDiff;
  randomSeedDiffers?: boolean;
  note?: string;
  failingRun?: string;
  passingRun?: string;
  kept?: { fail?: string; pass?: string };
  /** What A and B both touch: written by one, read by the other (most likely first). */
  sharedState?: SharedState[];
  /** Why no (or no more) shared state could be named. */
  sharedStateNote?: string;
  /** What looking for the shared state took (its replay and the static pass), in ms. */
  sharedStateMs?: number;
  /** Each candidate order tried (k: the failing order's first k turns), and how often it failed. */
  trials?: { candidate: number; fails: number; runs: number }[];
  /** The orders that deferred the first `deferred` turns B overtook after B, and how often each failed. */
  partnerTrials?: { deferred: number; fails: number; runs: number }[];
}

/** The orders of the two adjacent candidates, the turn B the failing one moved up, and the turn A it overtook. */
interface PairOrders {
  pass: string[];
  fail: string[];
  aKey: string;
  bKey: string;
}

function pairOrders(fOrder: string[], pOrder: string[], lo: number, hi: number): PairOrders {
  const pass = candidateOrder(fOrder, pOrder, lo);
  return { pass, fail: candidateOrder(fOrder, pOrder, hi), aKey: pass[hi - 1], bKey: fOrder[hi - 1] };
}

async function pairReport(
  F: RunModel,
  orders: PairOrders,
  lo: number,
  hi: number,
  fail: Outcome,
  pass: Outcome,
  place: string,
  tried: number,
  stopped: boolean,
  stateBudgetMs: number,
  allowNative?: string[],
): Promise<Report> {
  const { pass: passOrder, fail: failOrder, aKey, bKey } = orders;
  const report: Report = {
    kind: 'pair',
    candidates: tried,
    stopped,
    failure: fail.why,
    failingRun: fail.run.dir,
    passingRun: pass.run.dir,
  };
  if (aKey === bKey || failOrder.join() === passOrder.join()) {
    return {
      ...report,
      kind: 'inconclusive',
      note:
        `candidates ${lo} and ${hi} ran the same order but ended differently: ` +
        'the failure is not decided by the order of these turns alone',
    };
  }
  // Each turn described from a candidate's own log where it ran, with its call site from a replay of that log.
  const described = await Promise.all([fail, pass].map((o) => candidateTurns(o, place, allowNative)));
  const info = (key: string): TurnInfo | undefined => {
    for (const d of described) {
      const i = d.idx.get(key);
      if (i !== undefined) return turnInfo(d.run.turns[i], i, d.run.header, d.sites);
    }
    const j = F.turns.findIndex((t) => t.key === key);
    return j >= 0 ? turnInfo(F.turns[j], j, F.header) : undefined;
  };
  report.a = info(aKey);
  report.b = info(bKey);
  const state =
    stateBudgetMs > 0
      ? await stateOfPair(described[1], aKey, bKey, stateBudgetMs, allowNative)
      : { found: [], note: 'not looked for (--state-budget 0)', ms: 0 };
  report.sharedState = state.found;
  report.sharedStateMs = state.ms;
  if (state.note) report.sharedStateNote = state.note;
  const followed = following(
    failOrder.map((k) => k.split('.').map(Number) as [number, number]),
    described[0].run.turns.map((t) => t.key),
  );
  if (!followed.followed)
    report.note =
      'the failing candidate could not follow its schedule exactly (see `rewind diff` of the two kept runs)';
  if (stopped)
    report.note = `stopped before the search ended: the pair is the closest found so far (turns ${lo} and ${hi})`;
  return report;
}

/** A candidate's process at the analyzed one's place: its turns, and their call sites from a replay. */
async function candidateTurns(o: Outcome, place: string, allowNative?: string[]) {
  const proc = placesOf(o.run.processes.filter((p) => !p.passThrough)).get(place) ?? o.run.processes[0];
  const run = readRun(proc.trace);
  const idx = new Map(run.turns.map((t, i) => [t.key, i]));
  let sites: Map<number, string> | undefined;
  let rec: Recording | undefined;
  try {
    rec = resolveRecording(o.run.dir, process.cwd(), String(proc.pid));
    sites = (await eventSites(rec, allowNative)).sites;
  } catch {
    sites = undefined; // described without call sites
  }
  return { run, idx, sites, rec };
}

/** The state A and B share, from a replay of the passing candidate (where A came first). */
async function stateOfPair(
  pass: Awaited<ReturnType<typeof candidateTurns>>,
  aKey: string,
  bKey: string,
  budgetMs: number,
  allowNative?: string[],
): Promise<StateFinding> {
  const [a, b] = [pass.idx.get(aKey), pass.idx.get(bKey)];
  if (a === undefined || b === undefined || a > b || !pass.rec)
    return { found: [], note: 'the passing candidate did not run A before B', ms: 0 };
  return sharedState(pass.rec, { A: pass.run.turns[a].ev.n, B: pass.run.turns[b].ev.n }, { allowNative, budgetMs });
}

function valueReport(
  F: RunModel,
  P: RunModel,
  failingDir: string,
  passingDir: string,
  t: { atFail: Trial; atPass: Trial; seeded: Trial | null },
  tried: number,
  failed: string,
): Report {
  const d = diffRuns(F, P);
  const report: Report = {
    kind: 'value',
    candidates: tried,
    stopped: false,
    failure: failed,
    failingRun: failingDir,
    passingRun: passingDir,
  };
  report.randomSeedDiffers = F.header.randomSeed.join() !== P.header.randomSeed.join();
  const times = (x: Trial, v: Verdict) =>
    `${v === 'fails' ? x.fails : x.runs - x.fails} of ${x.runs} time${x.runs === 1 ? '' : 's'}`;
  if (t.seeded?.verdict === 'fails') {
    const first = d.values.first.find((v) => v.class === 'random') ?? d.values.first.find((v) => v.class !== 'clock');
    if (first) report.value = first;
    report.note =
      `the failing run's order, run again with the passing run's Math.random seed, passed ${times(t.atFail, 'passes')}; ` +
      `with the failing run's seed it failed ${times(t.seeded, 'fails')}: Math.random's numbers decide`;
    return report;
  }
  // No value is shown to decide: rewind can force the order and Math.random's seed, not an
  // I/O result or a clock reading, so a value that merely differs (a port, a date, a random
  // id) is named as a lead, not as the cause.
  const first = d.values.first.find((v) => v.class !== 'clock') ?? d.values.first[0];
  const lead = first
    ? `; the first value that differs, not shown to decide: ${first.class} ${first.a?.call ?? first.b?.call ?? ''}`
    : '';
  report.kind = 'inconclusive';
  report.note =
    t.atFail.verdict === 'passes'
      ? `the failing run's order, forced live, passed ${times(t.atFail, 'passes')}` +
        (t.seeded ? ` (with the failing run's Math.random seed too: ${times(t.seeded, 'passes')})` : '') +
        ': the order of the turns does not decide the failure' +
        (t.seeded ? ', nor does Math.random' : '') +
        '; it may depend on timing within a turn, on the order in which concurrent thread-pool work ran, ' +
        'or on an I/O result or clock reading that rewind cannot force' +
        lead
      : `the passing run's order, forced live, failed ${times(t.atPass, 'fails')}: ` +
        'the order of the turns does not decide the failure' +
        lead;
  return report;
}

/** Moves the decisive candidates' recordings next to the failing one: `<name>-fail`, `<name>-pass`. */
function keepPair(r: Report, cwd: string): Report['kept'] {
  if (r.kind !== 'pair') return undefined;
  const name = recordingName('analyze');
  const kept: Report['kept'] = {};
  for (const [which, dir] of [
    ['fail', r.failingRun],
    ['pass', r.passingRun],
  ] as const) {
    if (!dir || !path.basename(dir).startsWith('run-')) continue;
    const to = path.join(cwd, STORE_DIR, `${name}-${which}`);
    fs.renameSync(dir, to);
    kept[which] = to;
    if (which === 'fail') r.failingRun = to;
    else r.passingRun = to;
  }
  return kept;
}

function turnLine(t: TurnInfo | undefined): string {
  if (!t) return '(a turn not in the failing run)';
  const what = `turn: ${t.detail}`;
  return `${what.padEnd(44)}${t.site ? ` scheduled at ${showSite(t.site)}` : ''}`;
}

/** `file:line` of a site, relative to the current directory when inside it. */
const lineOf = (site: string) => showSite(site).replace(/:\d+$/, '');

/** The shared state lines: the likeliest ones (those of the closest reach), or why there are none. */
function stateLines(r: Report): string[] {
  const found = r.sharedState ?? [];
  if (found.length === 0 && r.sharedStateNote?.startsWith('not looked for'))
    return [`  shared state: ${r.sharedStateNote}`];
  if (found.length === 0) return [`  shared state: could not tell (${r.sharedStateNote ?? 'not looked for'})`];
  return found
    .filter((x) => x.reach === found[0].reach)
    .slice(0, 3)
    .map(
      (x) =>
        `  shared state: \`${x.name}\`${x.reach === 'closure' ? ' (a variable of an enclosing call)' : ''} ` +
        `written by ${x.write.turn} (${lineOf(x.write.site)}) ` +
        `and read by ${x.read.turn} (${lineOf(x.read.site)})`,
    );
}

function print(r: Report, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const lines: string[] = [];
  if (r.kind === 'pair') {
    lines.push('rewind: the failure depends on the order of two events');
    lines.push(`  A  ${turnLine(r.a)}`);
    lines.push(`  B  ${turnLine(r.b)}`);
    lines.push(...stateLines(r));
    lines.push(`  B before A: fails (${r.failure ?? 'failed'})   A before B: passes`);
    const rel = (d?: string) => (d ? shellWord(shownPath(d)) : '(not kept)');
    lines.push(
      `  replay the failing order:  rewind replay ${rel(r.kept?.fail)}` +
        `    the passing one: rewind replay ${rel(r.kept?.pass)}`,
    );
  } else if (r.kind === 'value') {
    lines.push('rewind: the failure does not depend on the order of events: a value decides it');
    const v = r.value;
    if (v) {
      const label = v.class === 'io' ? 'I/O result' : v.class;
      lines.push(
        `  ${label}: ${v.a ? `${v.a.call} ${v.a.value}` : '(none)'} in the failing run (event ${v.a?.n ?? '-'})`,
      );
      lines.push(
        `  ${' '.repeat(label.length)}  ${v.b ? `${v.b.call} ${v.b.value}` : '(none)'} in the passing one` +
          (v.diff ? `: ${v.diff}` : ''),
      );
    }
    if (r.randomSeedDiffers)
      lines.push('  Math.random was seeded differently in the two runs (its numbers come from the seed)');
    lines.push(`  failure: ${r.failure ?? 'unknown'}`);
  } else {
    lines.push('rewind: analyze could not name the cause');
  }
  if (r.note) lines.push(`  (${r.note})`);
  lines.push(`  candidates run: ${r.candidates}`);
  process.stdout.write(`${lines.map(printable).join('\n')}\n`);
}
