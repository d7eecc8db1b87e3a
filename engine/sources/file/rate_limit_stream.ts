/**
 * `--rate`: releases the batches of a recorded file at the pace of their event times, so a
 * recording replays as a live stream (`realtime`, or N times faster).
 * @module
 */
import type { Batch } from "../../core/batch.ts";
import { type Clock, systemClock } from "../../core/clock.ts";
import type { Reading } from "../../core/types.ts";

/** Options of {@linkcode RateLimitStream}. */
export interface RateLimitStreamOptions {
  /**
   * Event-time seconds replayed per wall-clock second: 1 is real time, 10 ten times faster;
   * `Infinity` does not pace at all (only `signal` is honoured).
   * @default {Infinity}
   */
  speed?: number;
  /**
   * Readings due within this many wall-clock ms of a batch's first reading go in that batch
   * (see {@linkcode RateLimitStream.splitBefore}): timers cannot wake more precisely than a few
   * ms anyway, and a batch per reading at a high speed would cost a checkpoint each.
   * @default {10}
   */
  groupMs?: number;
  /** Wall clock and timers. @default {systemClock} */
  clock?: Clock;
  /** Aborting ends the stream at once (a sleep is cut short; the batch waiting is dropped,
   * so the checkpoint stays at the last batch written). @default {none} */
  signal?: AbortSignal;
}

/**
 * Holds each batch until its first reading is due: at the wall-clock time the first paced
 * reading was released plus its event-time distance from that reading, divided by the speed.
 * Every due time is computed from that one anchor, so timer lateness and processing time never
 * accumulate into drift: a late batch is released at once and the next one is on time again.
 * History batches (`suppress`, re-read after a restart) and batches without readings pass
 * through unpaced; the anchor is the first reading that is not history. Event time running
 * backwards releases at once; order is never changed.
 *
 * Sources cut their batches where {@linkcode RateLimitStream.splitBefore} says, so that a
 * batch holds only readings due together and its `lines` stay exact for the checkpoint.
 */
export class RateLimitStream extends TransformStream<Batch, Batch> {
  /**
   * For sources: whether `next` must start a new batch after one that began with `first`
   * (its due time is more than `groupMs` after `first`'s). Undefined at `Infinity`, where it
   * would always be false: a source then cuts batches by size alone (a JSONL file writes them
   * as columns).
   */
  readonly splitBefore: ((first: Reading, next: Reading) => boolean) | undefined;

  constructor(options: RateLimitStreamOptions = {}) {
    const speed = options.speed ?? Infinity;
    if (!(speed > 0)) throw new RangeError(`speed must be > 0, got ${speed}`);
    const groupMs = options.groupMs ?? 10;
    if (!(groupMs >= 0)) throw new RangeError(`groupMs must be >= 0, got ${groupMs}`);
    const clock = options.clock ?? systemClock;
    const signal = options.signal;
    const paced = Number.isFinite(speed);
    let anchor: { event: number; wall: number } | null = null;
    super({
      transform: async (batch, controller) => {
        if (signal?.aborted) return controller.terminate();
        // Only when paced: a batch of columns builds its readings when they are first read.
        const first = paced && !batch.suppress ? batch.readings[0] : undefined;
        if (first !== undefined) {
          const now = clock.now();
          anchor ??= { event: first.timestamp, wall: now };
          const due = anchor.wall + (first.timestamp - anchor.event) / speed;
          if (due > now) await sleep(clock, due - now, signal);
          if (signal?.aborted) return controller.terminate();
        }
        controller.enqueue(batch);
      },
    });
    this.splitBefore = paced
      ? (first, next) => (next.timestamp - first.timestamp) / speed > groupMs
      : undefined;
  }
}

/** Resolves after `ms` on `clock`, or as soon as `signal` aborts. */
function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer: { id?: unknown } = {};
    const done = () => {
      clock.clearTimeout(timer.id);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    signal?.addEventListener("abort", done, { once: true });
    timer.id = clock.setTimeout(done, ms);
  });
}
