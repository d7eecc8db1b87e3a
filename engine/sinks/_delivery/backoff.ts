/**
 * The retry policy of the spooled sinks: how long to wait before the next attempt after a
 * failed one. Apart from the delivery loop so that it can be read, tested and tuned alone, and
 * so that every sink that retries waits the same way.
 *
 * The delay of attempt `n` (1 for the first retry) is capped at `baseMs · 2^(n-1)`, then at
 * `maxMs`, and drawn at random in the upper half of that cap ("equal jitter"): many sinks that
 * failed together do not retry together, and none retries sooner than half its cap. A delay the
 * target asked for (HTTP `Retry-After`) is honoured up to `maxMs`, never shortening the backoff.
 * @module
 */

/** How retries back off. Resolved (validated) by `resolveDeliveryOptions` in delivery.ts. */
export interface RetryPolicy {
  /** Delay cap of the first retry, ms; doubled at each further failure. */
  baseMs: number;
  /** Largest delay, ms; also caps a delay the target asks for. */
  maxMs: number;
  /** The jitter's random source, in [0, 1). */
  random: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first), ms, given the delay the target
 * asked for, if any.
 *
 * @example
 * ```ts
 * const policy = { baseMs: 1000, maxMs: 60_000, random: () => 0 };
 * backoffDelay(policy, 1); // 500: half of the first cap (1000), the low end of the jitter
 * backoffDelay(policy, 3); // 2000: half of 4000
 * backoffDelay(policy, 3, 10_000); // 10000: the target asked for more
 * backoffDelay(policy, 30, 600_000); // 60000: both capped at maxMs
 * ```
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, afterMs?: number): number {
  const { baseMs, maxMs, random } = policy;
  // 2^52 already exceeds any sane cap; the exponent is bounded so the product stays finite.
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  const delay = cap / 2 + random() * cap / 2;
  return afterMs === undefined ? delay : Math.max(delay, Math.min(afterMs, maxMs));
}

/**
 * An HTTP `Retry-After` header (seconds, or an HTTP date) as ms from `now`; `undefined` when
 * absent or unreadable, so that the backoff alone decides.
 *
 * @example
 * ```ts
 * retryAfterMs("2"); // 2000
 * retryAfterMs(null); // undefined
 * retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", Date.UTC(2026, 0, 1)); // 5000
 * ```
 */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const s = Number(header);
  if (header.trim() !== "" && Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
