/**
 * A clock that can be replaced in tests: the wall-clock time and one-shot timers.
 * @module
 */

/** Wall-clock time and timers; {@linkcode systemClock} in production, a manual one in tests. */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Calls `fn` once after `ms`; returns an opaque id for {@linkcode Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer (an id already fired, or undefined, is ignored). */
  clearTimeout(id: unknown): void;
}

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout> | undefined),
};
