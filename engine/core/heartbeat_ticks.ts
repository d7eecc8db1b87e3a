/**
 * The timer side of live heartbeat detection.
 * @module
 */
import { type Batch, emptyBatch } from "./batch.ts";
import { type Clock, systemClock } from "./clock.ts";

/** Options of {@linkcode withHeartbeatTicks}. */
export interface HeartbeatTicksOptions {
  /** @default {systemClock} */
  clock?: Clock;
  /** Interval between ticks, ms: a loss is raised at most this long after the timeout (plus
   * the pipeline's latency). @default {250} */
  everyMs?: number;
}

/**
 * The batches of `source`, plus an empty batch every `everyMs` of the clock, so that a pipeline
 * whose {@linkcode AnalysisStream} has a clock runs its heartbeat check even when the source
 * sends nothing at all. A tick that finds the queue full is dropped: the batch ahead of it runs
 * the same check. The timer stops when the source ends or the stream is cancelled.
 */
export function withHeartbeatTicks(
  source: ReadableStream<Batch>,
  options: HeartbeatTicksOptions = {},
): ReadableStream<Batch> {
  const clock = options.clock ?? systemClock;
  const every = options.everyMs ?? 250;
  if (!(every > 0) || !Number.isFinite(every)) {
    throw new RangeError(`everyMs must be a finite number > 0, got ${every}`);
  }
  const reader = source.getReader();
  let timer: unknown;
  let closed = false;
  const stop = () => {
    closed = true;
    clock.clearTimeout(timer);
  };
  return new ReadableStream<Batch>({
    start(controller) {
      const tick = () => {
        if (closed) return;
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(emptyBatch());
        timer = clock.setTimeout(tick, every);
      };
      timer = clock.setTimeout(tick, every);
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (closed) return;
        if (done) {
          stop();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        stop();
        controller.error(e);
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 1 });
}
