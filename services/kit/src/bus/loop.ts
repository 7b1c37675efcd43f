import type { Logger } from '../logger.ts';
import { delay, type Bell } from './bell.ts';
import type { WaiterRow } from './waiters.ts';

/** What one look at the outbox found. */
export type StepResult =
  /** Work was found (or started): look again at once. */
  | 'progress'
  /**
   * Work was found and it was all there was to find in that snapshot (a broadcast read shorter than its
   * limit, nothing held back): count it as progress, then wait as when idle. Looking again at once only
   * found nothing, one statement per wake-up for nothing; anything committed later rings.
   */
  | 'drained'
  /**
   * Work was started and nothing else could be started (a group leased fewer partitions than it asked
   * for): count it as progress, then wait for a batch to finish or the doorbell, as when busy.
   */
  | 'started'
  /** Committed events are held back by an older open transaction: look again soon. */
  | 'held'
  /** Nothing new, but work is still running here: a finished batch wakes the loop, so no doorbell is needed. */
  | 'busy'
  /** Nothing to do: wait for the doorbell. */
  | 'idle';

export interface LoopTiming {
  sweepMs: number;
  /** Under load (busyProgressCount batches within busyWindowMs) a reader polls every busyPollMs instead of waiting. */
  busyWindowMs: number;
  busyProgressCount: number;
  busyPollMs: number;
  lingerMs: readonly number[];
  heldBackMinMs: number;
  heldBackMaxMs: number;
  heldBackWarnMs: number;
}

/**
 * The reader's loop around the doorbell (docs/adr/0001): read until idle; then mark the process as
 * waiting, read once more and linger with a few short polls (a producer may have checked for waiters
 * just before the mark and be committing now); then sleep until the doorbell, a reconnect or the sweep.
 * A reader that is busy (its batches still run, or events keep arriving faster than a few hundred
 * batches a second) polls briefly instead of marking itself waiting: under load the waiter row lapses
 * and producers stop paying for NOTIFY; at low load the doorbell keeps latency low.
 */
export async function pollLoop({
  step,
  bell,
  waiter,
  timing,
  signal,
  log,
  gatherMs,
}: {
  step: () => Promise<StepResult>;
  /**
   * Consumer groups gather events under load (larger batches): how long to wait before leasing again;
   * broadcast readers (without it) forward each at once.
   */
  gatherMs?: () => number;
  bell: Bell;
  waiter: WaiterRow;
  timing: LoopTiming;
  signal: AbortSignal;
  log: Logger;
}): Promise<void> {
  let heldDelay = timing.heldBackMinMs;
  let heldSince: number | undefined;
  let errorDelay = 100;
  // When the last busyProgressCount batches started (a ring buffer), to tell sustained load from a trickle.
  const progressTimes: number[] = new Array<number>(Math.max(1, timing.busyProgressCount)).fill(Number.NEGATIVE_INFINITY);
  let progressIndex = 0;
  // When a look last found nothing new, and how many looks have found work since: a group whose last
  // busyProgressCount looks or more, over busyWindowMs or more, all found work is under sustained load.
  let foundNothingAt = performance.now();
  let foundSince = 0;
  // This reader, to the process's waiter row; since when it has been polling rather than waiting for the doorbell.
  const reader = {};
  let pollingSince: number | undefined;
  /**
   * The reader polls rather than waits for the doorbell. After two busy windows of that it tells the
   * waiter row, which is deleted once no reader of the process waits for the doorbell: producers stop
   * ringing at once (each ring was a statement of theirs and a wake-up here), not only once the row
   * lapses. Going idle writes it again.
   */
  const polling = (now: number) => {
    pollingSince ??= now;
    if (now - pollingSince >= timing.busyWindowMs * 2) waiter.busy(reader);
  };
  while (!signal.aborted) {
    const since = bell.count;
    try {
      const result = await step();
      errorDelay = 100;
      const now = performance.now();
      if (result !== 'held') heldSince = undefined;
      if (result === 'idle' || result === 'busy' || result === 'held') {
        foundNothingAt = now;
        foundSince = 0;
      }
      if (result === 'progress' || result === 'drained' || result === 'started') {
        heldDelay = timing.heldBackMinMs;
        foundSince++;
        progressTimes[progressIndex] = now;
        progressIndex = (progressIndex + 1) % progressTimes.length;
      }
      // A group whose every look for a while found work: let events gather before leasing again (fewer,
      // larger batches, so its statements do not crowd out the producers), including after a batch
      // ends, whose ring would otherwise lease again at once for the few events of one partition.
      const gathering =
        gatherMs !== undefined && foundSince >= timing.busyProgressCount && now - foundNothingAt >= timing.busyWindowMs;
      if (result === 'progress' || result === 'drained' || result === 'started') {
        if (gathering) {
          polling(now);
          await delay(gatherMs(), signal);
          continue;
        }
        if (result === 'progress') continue;
      }
      if (result === 'busy' || result === 'started') {
        pollingSince = undefined;
        await bell.wait(timing.sweepMs, since, signal);
        continue;
      }
      const oldest = progressTimes[progressIndex] as number;
      if (now - oldest < timing.busyWindowMs) {
        polling(now);
        await bell.wait(timing.busyPollMs, since, signal);
        continue;
      }
      if (result === 'held') {
        heldSince ??= now;
        if (now - heldSince >= timing.heldBackWarnMs) {
          log.warn(
            { heldForMs: Math.round(now - heldSince) },
            'committed events are held back by an older transaction that is still open (see pg_stat_activity: backend_xid, xact_start); delivery resumes when it ends',
          );
          heldSince = now; // warn again after another interval, not on every poll
        }
        await bell.wait(heldDelay, since, signal);
        heldDelay = Math.min(heldDelay * 2, timing.heldBackMaxMs);
        continue;
      }
      heldDelay = timing.heldBackMinMs;
      pollingSince = undefined;
      const settled = await waiter.markWaiting(reader);
      if (!settled && !(await linger(step, bell, since, timing.lingerMs, signal))) continue;
      await bell.wait(timing.sweepMs, since, signal);
    } catch (error) {
      if (signal.aborted) break;
      log.error({ err: error }, `reading the bus failed; retrying in ${errorDelay} ms`);
      await delay(errorDelay, signal);
      errorDelay = Math.min(errorDelay * 2, Math.max(timing.sweepMs, 1_000));
    }
  }
}

/** Re-reads at once and after each linger delay; false as soon as something turned up (or a ring). */
async function linger(
  step: () => Promise<StepResult>,
  bell: Bell,
  since: number,
  lingerMs: readonly number[],
  signal: AbortSignal,
): Promise<boolean> {
  for (const ms of [0, ...lingerMs]) {
    if (ms > 0) await bell.wait(ms, since, signal);
    if (signal.aborted || bell.count !== since) return false;
    if ((await step()) !== 'idle') return false;
  }
  return true;
}
