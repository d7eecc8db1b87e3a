/**
 * At-least-once, in-order delivery of serialised items to one target through its {@linkcode Spool}:
 * the loop that takes batches, sends them with the sink's `send`, acknowledges, refuses or
 * retries them, and counts all of it for `GET /metrics`. What is sent and how (HTTP POST of a
 * JSON array, InfluxDB line protocol…) is the sink's `send`; everything else is here, so that
 * every spooled sink delivers, retries and shuts down alike.
 *
 * One batch is in flight at a time, and the next is sent only after it was answered. `send`
 * answers with a {@linkcode SendResult}: `ok` acknowledges the batch; `retry` (a network error,
 * a timeout, a busy or failing target) is retried after {@linkcode backoffDelay}, and retries
 * never give up, since the spool's bound is what limits an outage; `reject` (the target refuses
 * it for good: a wrong path, a bad token) logs the batch with the answer, counts it as rejected
 * and skips it, so that a misconfiguration cannot block the queue forever. A `send` that throws
 * is a `retry`. A crash (or a timeout) after the target got a batch but before its
 * acknowledgement was saved sends that batch again: items must be safe to receive twice.
 * @module
 */
import { type Logger, nullLogger } from "../../core/logger.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { positiveInteger, positiveNumber } from "../../core/validate.ts";
import type { DeliveryStats } from "../sink.ts";
import { backoffDelay, type RetryPolicy } from "./backoff.ts";
import { type DeliveryLog, report } from "./log.ts";
import { Spool } from "./spool.ts";

/** A target's answer to one batch. */
export type SendResult =
  /** The target has the batch. */
  | { kind: "ok" }
  /** Refused for good: `status` and the start of the answer's `body` are logged. */
  | { kind: "reject"; status: number; body: string }
  /** Not delivered this time; `afterMs` is a delay the target asked for (`Retry-After`). */
  | { kind: "retry"; reason: string; afterMs?: number };

/**
 * Sends one batch (the items' lines, oldest first) and says how it went. `signal` aborts at the
 * timeout or at close; what it aborts (or any throw) counts as `retry`.
 */
export type Send = (lines: readonly string[], signal: AbortSignal) => Promise<SendResult>;

/**
 * The tunables of a spooled sink, as its options take them (all optional). A sink's options
 * interface extends this one, so that every spooled sink has the same names and defaults.
 */
export interface DeliveryOptions {
  /** Most items per send. A positive integer. @default {100} */
  batchSize?: number;
  /** Most items waiting per target; beyond it the oldest are dropped (counted and logged).
   * A positive integer. @default {10000} */
  maxQueued?: number;
  /** Longest wait for one send's answer, ms; then it counts as failed and is retried.
   * @default {10000} */
  timeoutMs?: number;
  /** Delay before the first retry, ms; doubled at each further failure. @default {1000} */
  retryBaseMs?: number;
  /** Largest delay between retries, ms (also caps a `Retry-After`). @default {60000} */
  retryMaxMs?: number;
  /** Acknowledged spool bytes that trigger a compaction of the spool. @default {1048576} */
  compactBytes?: number;
  /** How long the sink's `close` keeps sending by default, ms. @default {5000} */
  closeDeadlineMs?: number;
  /** Where deliveries that fail, refusals and drops are logged. @default {nullLogger} */
  logger?: Logger;
  /** The jitter's random source, in [0, 1). @default {Math.random} */
  random?: () => number;
}

/** {@linkcode DeliveryOptions} checked, with their defaults filled in. */
export interface DeliverySettings {
  batchSize: number;
  maxQueued: number;
  timeoutMs: number;
  retry: RetryPolicy;
  compactBytes: number;
  closeDeadlineMs: number;
  logger: Logger;
}

/**
 * Checks `options` and fills in the defaults.
 * @throws {RangeError} naming the first option that is out of range, and its value.
 *
 * @example
 * ```ts
 * resolveDeliveryOptions({ batchSize: 500 }).retry.maxMs; // 60000
 * resolveDeliveryOptions({ maxQueued: 0 }); // throws: maxQueued must be a positive integer, got 0
 * ```
 */
export function resolveDeliveryOptions(options: DeliveryOptions): DeliverySettings {
  const batchSize = positiveInteger("batchSize", options.batchSize ?? 100);
  const maxQueued = positiveInteger("maxQueued", options.maxQueued ?? 10_000);
  const timeoutMs = positiveNumber("timeoutMs", options.timeoutMs ?? 10_000);
  const retry: RetryPolicy = {
    baseMs: positiveNumber("retryBaseMs", options.retryBaseMs ?? 1000),
    maxMs: positiveNumber("retryMaxMs", options.retryMaxMs ?? 60_000),
    random: options.random ?? Math.random,
  };
  const compactBytes = positiveInteger("compactBytes", options.compactBytes ?? 1_048_576);
  const closeDeadlineMs = options.closeDeadlineMs ?? 5000;
  if (!(closeDeadlineMs >= 0) || !Number.isFinite(closeDeadlineMs)) {
    throw new RangeError(`closeDeadlineMs must be a number >= 0, got ${closeDeadlineMs}`);
  }
  const logger = options.logger ?? nullLogger;
  return { batchSize, maxQueued, timeoutMs, retry, compactBytes, closeDeadlineMs, logger };
}

/** What {@linkcode Delivery.open} delivers where, and how it is named in metrics and logs. */
export interface DeliveryTarget {
  /** The spool directory; it must exist. */
  dir: string;
  /** What names the target's spool files (hashed): its full URL, secrets included. */
  key: string;
  /** The target without secrets: {@linkcode DeliveryStats.target}, in logs and the ack file. */
  target: string;
  /** The log field that names the target (`url`). */
  targetField: string;
  /** The spool files' extension, without the dot (`jsonl`). */
  extension: string;
  /** Whether a line read back from the spool is an item; others are logged and skipped. */
  isValid: (line: string) => boolean;
  /** Sends one batch to the target: the sink's one piece of delivery. */
  send: Send;
  /** {@linkcode DeliveryStats.sink}, also the first word of log messages (`webhook`). */
  sink: string;
  /** {@linkcode DeliveryStats.label} (`Webhook POST`). */
  label: string;
  /** {@linkcode DeliveryStats.items} (`Anomaly events`). */
  items: string;
  /** What one item is, plural, in log messages and as a field name (`events`). */
  noun: string;
}

/**
 * Delivers one target's items: {@linkcode Delivery.push} never waits nor throws; the loop runs
 * until {@linkcode Delivery.close}.
 *
 * @example
 * ```ts
 * import { Delivery, resolveDeliveryOptions } from "./delivery.ts";
 *
 * const url = "http://127.0.0.1:8086/api/v2/write?bucket=vigil";
 * const delivery = await Delivery.open({
 *   dir: await Deno.makeTempDir(), key: url, target: "http://127.0.0.1:8086/api/v2/write",
 *   targetField: "url", extension: "lp", isValid: (line) => line.length > 0,
 *   sink: "influx", label: "InfluxDB write", items: "Points", noun: "points",
 *   send: async (lines, signal) => {
 *     const res = await fetch(url, { method: "POST", body: lines.join("\n"), signal });
 *     await res.body?.cancel();
 *     return res.ok ? { kind: "ok" } : { kind: "retry", reason: `HTTP ${res.status}` };
 *   },
 * }, resolveDeliveryOptions({}));
 * delivery.push("temperature,machine=m1 value=21.5 1767225600000000000");
 * await delivery.close(Date.now() + 1000);
 * ```
 */
export class Delivery {
  readonly #t: DeliveryTarget;
  readonly #s: DeliverySettings;
  readonly #log: DeliveryLog;
  #spool!: Spool;
  #delivered = 0;
  #rejected = 0;
  #failures = 0;
  /** Ends the current backoff sleep early (once, on close). */
  #cutSleep: (() => void) | null = null;
  #wake: (() => void) | null = null;
  #closing = false;
  readonly #stop = new AbortController();
  #loop: Promise<void> = Promise.resolve();

  private constructor(target: DeliveryTarget, settings: DeliverySettings) {
    this.#t = target;
    this.#s = settings;
    this.#log = {
      logger: settings.logger,
      name: target.sink,
      noun: target.noun,
      fields: { [target.targetField]: target.target },
    };
  }

  /**
   * Opens the target's spool (queueing what a previous run left unacknowledged) and starts
   * sending.
   * @throws {RangeError} for an `extension` that is not a plain word.
   * @throws the file system's error when the spool cannot be opened.
   */
  static async open(target: DeliveryTarget, settings: DeliverySettings): Promise<Delivery> {
    const d = new Delivery(target, settings);
    d.#spool = await Spool.open({
      dir: target.dir,
      key: target.key,
      extension: target.extension,
      label: target.target,
      maxQueued: settings.maxQueued,
      compactBytes: settings.compactBytes,
      isValid: target.isValid,
      log: d.#log,
      onAppend: () => d.#wake?.(),
    });
    d.#loop = d.#run();
    return d;
  }

  /** Items waiting (queued or spooled, not yet done with). */
  get queued(): number {
    return this.#spool.queued;
  }

  /** Accepts one item's line (no newline). Never throws, never waits. */
  push(line: string): void {
    this.#spool.push(line);
  }

  /** The target's delivery counts, for the sink's `health()` (`GET /metrics`). */
  health(): DeliveryStats {
    const t = this.#t;
    return {
      sink: t.sink,
      label: t.label,
      items: t.items,
      target: t.target,
      queued: this.#spool.queued,
      delivered: this.#delivered,
      dropped: this.#spool.dropped,
      rejected: this.#rejected,
      failures: this.#failures,
    };
  }

  /**
   * Writes what is accepted to the spool, sends until the queue is empty or `deadline` (epoch
   * ms), then aborts what is in flight and closes the spool; what was not acknowledged is sent
   * by the next {@linkcode Delivery.open} on the same directory. Call once.
   */
  async close(deadline: number): Promise<void> {
    this.#closing = true;
    await this.#spool.flush();
    this.#wake?.();
    // One more attempt now rather than after the current backoff, which may outlast the deadline.
    this.#cutSleep?.();
    const timer = setTimeout(() => {
      this.#stop.abort();
      this.#wake?.();
    }, Math.max(0, deadline - Date.now()));
    try {
      await this.#loop;
    } finally {
      clearTimeout(timer);
      this.#stop.abort();
      this.#wake?.();
    }
    await this.#spool.close();
    if (this.queued > 0) {
      report(this.#log, "warn", `${this.#log.noun} left in the spool for the next start`, {
        queued: this.queued,
      });
    }
  }

  async #send(lines: readonly string[]): Promise<SendResult> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.#s.timeoutMs), this.#stop.signal]);
    try {
      return await this.#t.send(lines, signal);
    } catch (e) {
      return { kind: "retry", reason: e instanceof Error ? e.message : String(e) };
    }
  }

  async #run(): Promise<void> {
    let attempt = 0;
    const stop = this.#stop.signal;
    const spool = this.#spool;
    while (!stop.aborted) {
      if (spool.ready === 0) {
        if (this.#closing && spool.queued === 0) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (stop.aborted || spool.ready > 0) resolve();
        });
        this.#wake = null;
        continue;
      }
      const batch = await spool.take(this.#s.batchSize);
      // Everything ready was evicted by a burst while a compaction ran: wait for more.
      if (batch === null) continue;
      const outcome = await this.#send(batch.lines);
      const evicted = spool.release(outcome.kind === "ok");
      if (outcome.kind === "ok") {
        attempt = 0;
        this.#delivered += batch.lines.length;
        await spool.acknowledge(batch.end);
      } else if (outcome.kind === "reject") {
        attempt = 0;
        this.#rejected += batch.lines.length - evicted;
        report(this.#log, "error", `refused ${this.#log.noun}, skipped`, {
          status: outcome.status,
          [this.#log.noun]: batch.lines.length - evicted,
          body: outcome.body,
        });
        await spool.acknowledge(batch.end);
      } else {
        if (stop.aborted) return; // aborted by close: not a failure of the target
        attempt++;
        this.#failures++;
        const delay = backoffDelay(this.#s.retry, attempt, outcome.afterMs);
        report(this.#log, "warn", "delivery failed, will retry", {
          error: outcome.reason,
          attempt,
          retry_in_ms: Math.round(delay),
          queued: this.queued,
        });
        const cut = new AbortController();
        this.#cutSleep = () => cut.abort();
        await abortableSleep(delay, AbortSignal.any([stop, cut.signal]));
        this.#cutSleep = null;
      }
    }
  }
}
