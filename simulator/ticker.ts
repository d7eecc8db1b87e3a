/**
 * The wall-clock side of the live simulators: a bounded stream fed by a timer.
 * @module
 */

/** Options of {@linkcode Ticker}. */
export interface TickerOptions<T> {
  /** Called on every tick that is neither paused nor dropped; its chunk is enqueued (`null`:
   * nothing this time). A throw errors the stream and stops the timer. */
  produce: () => T | null;
  /** Wall-clock time between ticks, ms; the first tick comes at once. */
  intervalMs: number;
  /** Aborting it stops the timer and closes the stream (after the queued chunks). */
  signal?: AbortSignal;
  /** Chunks the stream buffers before ticks are dropped. @default {64} */
  highWaterMark?: number;
}

/**
 * Calls `produce` every `intervalMs` and offers its chunks on {@linkcode readable}.
 *
 * Bounded: when the consumer falls behind and `highWaterMark` chunks are queued, a tick is
 * dropped without calling `produce` — a simulator is then not ticked at all, so nothing it would
 * have made (and no ground truth) is lost; its event time simply skips those intervals — and
 * counted in {@linkcode dropped}. While {@linkcode paused}, ticks do nothing. Stops on `signal`
 * abort, {@linkcode cancel} or when the consumer cancels the stream.
 */
export class Ticker<T> {
  /** The chunks, one per productive tick (plus any {@linkcode enqueue}d). */
  readonly readable: ReadableStream<T>;
  readonly #produce: () => T | null;
  readonly #signal: AbortSignal | undefined;
  #controller!: ReadableStreamDefaultController<T>;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  #dropped = 0;
  /** While true, ticks are skipped. */
  paused = false;
  readonly #onAbort = () => this.cancel();

  /** Throws `RangeError` for a bad interval or high-water mark. */
  constructor(options: TickerOptions<T>) {
    const { intervalMs } = options;
    if (!(intervalMs > 0 && Number.isFinite(intervalMs))) {
      throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
    }
    const highWaterMark = options.highWaterMark ?? 64;
    if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
      throw new RangeError(`highWaterMark must be an integer >= 1, got ${highWaterMark}`);
    }
    this.#produce = options.produce;
    this.#signal = options.signal;
    this.readable = new ReadableStream<T>({
      start: (controller) => {
        this.#controller = controller;
        if (this.#signal?.aborted) {
          this.cancel();
          return;
        }
        this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
        this.#tick();
        if (!this.#stopped) this.#timer = setInterval(() => this.#tick(), intervalMs);
      },
      cancel: () => this.#stop(),
    }, new CountQueuingStrategy({ highWaterMark }));
  }

  /** Ticks dropped so far because the consumer was `highWaterMark` chunks behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether the ticker has stopped (cancelled, aborted or its stream cancelled). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Enqueues a chunk outside the timer (e.g. an operator's change), whatever the queue holds.
   * Throws once stopped. */
  enqueue(chunk: T): void {
    if (this.#stopped) throw new Error("the source has stopped");
    this.#controller.enqueue(chunk);
  }

  /** Stops ticking and closes the stream; chunks already queued can still be read. Idempotent. */
  cancel(): void {
    if (this.#stopped) return;
    this.#stop();
    this.#controller.close();
  }

  #stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  #tick(): void {
    if (this.#stopped || this.paused) return;
    if ((this.#controller.desiredSize ?? 0) <= 0) {
      this.#dropped++;
      return;
    }
    let chunk: T | null;
    try {
      chunk = this.#produce();
    } catch (e) {
      // A broken clock or simulator must not keep a timer firing into a dead stream.
      this.#stop();
      this.#controller.error(e);
      return;
    }
    if (chunk !== null) this.#controller.enqueue(chunk);
  }
}
