/**
 * The one sleep of the engine's polling loops and retries.
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts (already aborted: at once), so shutdown
 * never waits out a poll or a backoff. Never rejects, and leaves no timer or listener behind.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
