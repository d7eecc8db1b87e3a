/**
 * Alert webhooks: a {@linkcode Sink} that POSTs every anomaly event, as JSON arrays of up to
 * `batchSize` events, to each configured URL, through a bounded on-disk queue per URL so that an
 * incident tool that is down loses nothing, even across a restart of Vigil.
 *
 * This file holds what is webhook-specific: the URLs (checked, redacted for logs and metrics),
 * the POST, and how its answer is classified. The spool, the retries and the delivery loop are
 * the machinery that every spooled sink shares, in `../_delivery/` (spool.ts and spool_files.ts
 * for the queue and its files, delivery.ts for the loop, backoff.ts for the delays).
 *
 * Per URL, in the spool directory (`<data-dir>/webhooks/` in `start`): `<id>.<generation>.jsonl`,
 * one event per line, and `<id>.ack`, the offset up to which it is done with (`<id>`: the first 16
 * hex digits of the SHA-256 of the URL).
 *
 * Delivery is at least once and in order per URL. A 2xx acknowledges the batch. A 408, a 429,
 * any 5xx, a network error or a timeout is retried with exponential backoff and jitter (the delay
 * is `retryBaseMs · 2^(attempt-1)`, capped at `retryMaxMs`, then a random value in its upper half;
 * a `Retry-After` is honoured up to `retryMaxMs`); retries never give up, since the queue bound
 * is what limits an outage. Any other 4xx is a permanent refusal (a wrong path, a bad token): the
 * batch is logged with the answer, counted as rejected and skipped, so that a misconfiguration
 * cannot block the queue forever. A crash (or a timeout) after the target got a batch but before
 * the ack file was written sends that batch again.
 *
 * The queue is bounded: at most `maxQueued` events per URL wait. When an event arrives at a full
 * queue the **oldest** waiting event is dropped, counted in {@linkcode WebhookSink.health}
 * `dropped` (and the `vigil_webhook_dropped_total` metric) and logged as a warning with the
 * count. An event dropped while its batch was already in flight is counted back as delivered if
 * that POST succeeds.
 * @module
 */
import type { DeliveryStats, Sink } from "../sink.ts";
import type { AnomalyEvent } from "../../core/types.ts";
import { requireNet, sendResultOf } from "../_delivery/http.ts";
import {
  Delivery,
  type DeliveryOptions,
  resolveDeliveryOptions,
  type SendResult,
} from "../_delivery/delivery.ts";

/**
 * Options of {@linkcode WebhookSink.open}: the URLs and the spool directory, plus the delivery
 * tunables of {@linkcode DeliveryOptions} with their defaults (`batchSize`: events per POST, one
 * JSON array; `maxQueued`: events waiting per URL; `timeoutMs`: the wait for one POST's answer;
 * `retryBaseMs`, `retryMaxMs`, `compactBytes`, `closeDeadlineMs`, `logger`, `random`).
 */
export interface WebhookSinkOptions extends DeliveryOptions {
  /** The URLs every event goes to (`http:` or `https:`, each once). At least one. */
  urls: readonly string[];
  /** The spool directory, created if missing (`start` uses `<data-dir>/webhooks`). */
  dir: string;
  /** Extra request headers (e.g. `Authorization`). @default {{}} */
  headers?: Readonly<Record<string, string>>;
}

/** The URL without credentials, query or fragment: what logs and metrics may show. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Whether a spool line read back is an event (JSON), as the sink wrote it. */
function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/**
 * POSTs `lines` (JSON events) as one JSON array; the answer is classified by `sendResultOf`
 * (_delivery/http.ts). A network error or an abort throws, which the delivery loop retries.
 */
async function post(
  url: string,
  headers: Readonly<Record<string, string>>,
  lines: readonly string[],
  signal: AbortSignal,
): Promise<SendResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "[" + lines.join(",") + "]",
    signal,
  });
  return await sendResultOf(res);
}

/**
 * Delivers anomaly events to webhooks (see the module doc for the spool, retries and bounds).
 * Create it with {@linkcode WebhookSink.open}, register it as an `OutputSink` listener and
 * {@linkcode WebhookSink.close} it on shutdown. The body of each POST is a JSON array of the
 * contract's anomaly events, oldest first, with `content-type: application/json`.
 */
export class WebhookSink implements Sink {
  readonly #targets: Delivery[];
  readonly #closeDeadlineMs: number;
  #closed = false;

  private constructor(targets: Delivery[], closeDeadlineMs: number) {
    this.#targets = targets;
    this.#closeDeadlineMs = closeDeadlineMs;
  }

  /**
   * Opens (or creates) each URL's spool in `dir`, queues what a previous run left unacknowledged
   * and starts sending.
   * @throws {RangeError} for no URL, a URL that is not http(s), a URL given twice, or a bad bound.
   * @throws {Deno.errors.NotCapable} when a URL's host is not allowed by `--allow-net`.
   */
  static async open(options: WebhookSinkOptions): Promise<WebhookSink> {
    if (options.urls.length === 0) throw new RangeError("urls: at least one webhook URL is needed");
    const settings = resolveDeliveryOptions(options);
    const headers = { ...options.headers };
    const parsed: [string, string][] = [];
    for (const raw of options.urls) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new RangeError(`webhook URL ${JSON.stringify(raw)} is not a URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RangeError(`webhook URL ${JSON.stringify(redact(url))} is not http(s)`);
      }
      if (parsed.some(([u]) => u === url.href)) {
        throw new RangeError(`webhook URL ${JSON.stringify(redact(url))} is given twice`);
      }
      await requireNet(url, `webhook URL ${JSON.stringify(redact(url))}`);
      parsed.push([url.href, redact(url)]);
    }
    await Deno.mkdir(options.dir, { recursive: true });
    const targets: Delivery[] = [];
    try {
      for (const [href, label] of parsed) {
        targets.push(
          await Delivery.open({
            dir: options.dir,
            key: href,
            target: label,
            targetField: "url",
            extension: "jsonl",
            isValid: isJson,
            send: (lines, signal) => post(href, headers, lines, signal),
            sink: "webhook",
            label: "Webhook POST",
            items: "Anomaly events",
            noun: "events",
          }, settings),
        );
      }
    } catch (e) {
      await Promise.all(targets.map((t) => t.close(Date.now())));
      throw e;
    }
    return new WebhookSink(targets, settings.closeDeadlineMs);
  }

  /** Queues the event for every URL. Never throws, never waits. Ignored after close. */
  anomaly(event: AnomalyEvent): void {
    if (this.#closed) return;
    const line = JSON.stringify(event);
    for (const t of this.#targets) t.push(line);
  }

  /** Delivery counts per URL, in the order of `urls`. */
  health(): DeliveryStats[] {
    return this.#targets.map((t) => t.health());
  }

  /**
   * Stops taking events, writes any not yet spooled, keeps delivering until every queue is empty
   * or `deadlineMs` has passed, then aborts what is in flight and closes the spools; what was not
   * acknowledged is resent by the next {@linkcode WebhookSink.open} on the same directory.
   * Idempotent.
   */
  async close(deadlineMs: number = this.#closeDeadlineMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = Date.now() + deadlineMs;
    await Promise.all(this.#targets.map((t) => t.close(deadline)));
  }
}
