/**
 * InfluxDB: a {@linkcode Sink} that writes every reading, processed row and anomaly event as
 * line protocol (line_protocol.ts) to an InfluxDB 1.x, 2.x or 3.x server, in batches, through a
 * bounded on-disk spool so that a server that is down or slow loses nothing, even across a
 * restart of Vigil. The URL forms (1.x database, 2.x/3.x bucket) are in core/influx_url.ts.
 *
 * What is InfluxDB-specific is here: the endpoint, the token, the points and the write. The
 * spool, the retries and the delivery loop are the shared machinery of `../_delivery/`, as for
 * webhooks: at least once and in order; a 2xx acknowledges a batch; 408, 429, 5xx, a network
 * error or a timeout is retried with backoff, forever (the spool's bound limits an outage); any
 * other 4xx (a wrong database, a bad token, a 1.x "partial write" of a batch with a refused
 * point) is logged, counted as rejected and skipped. Since every point carries its event time,
 * a batch sent twice overwrites itself: at least once is exactly once in the database.
 *
 * Spool files: `<data-dir>/influx/<id>.<generation>.lp`, one point per line, and `<id>.ack`.
 * @module
 */
import type { AnalysisResult } from "../../core/analysis.ts";
import { type InfluxEndpoint, parseInfluxUrl } from "../../core/influx_url.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { Delivery, type DeliveryOptions, resolveDeliveryOptions } from "../_delivery/delivery.ts";
import { requireNet, sendResultOf } from "../_delivery/http.ts";
import type { DeliveryStats, Sink } from "../sink.ts";
import { anomalyPoint, readingPoint, rowPoint } from "./line_protocol.ts";

/**
 * Options of {@linkcode InfluxSink.open}: the URL, the token and the spool directory, plus the
 * delivery tunables of {@linkcode DeliveryOptions}, whose defaults differ here: `batchSize`
 * (points per write) 5000, `maxQueued` (points waiting) 200,000, about 40 MB of memory, since
 * the spool is mirrored in memory. The others (`timeoutMs` 10 s, `retryBaseMs` 1 s,
 * `retryMaxMs` 60 s, `compactBytes`, `closeDeadlineMs` 5 s, `logger`, `random`) are as there.
 */
export interface InfluxSinkOptions extends DeliveryOptions {
  /** The `--influx` URL (forms in core/influx_url.ts). */
  url: string;
  /** Sent as `Authorization: Token <token>` (2.x/3.x tokens; 1.8+ takes `user:password`).
   * Never logged. @default {none} */
  token?: string | null;
  /** The spool directory, created if missing (`start` and `replay` use `<data-dir>/influx`). */
  dir: string;
}

/**
 * Writes readings, rows and anomaly events to InfluxDB (see the module doc). Open it with
 * {@linkcode InfluxSink.open}, give it to the pipeline as a sink, {@linkcode InfluxSink.close}
 * it on shutdown.
 *
 * @example
 * ```ts
 * import { InfluxSink } from "./influx_sink.ts";
 *
 * const sink = await InfluxSink.open({
 *   url: "http://127.0.0.1:8086/vigil", dir: "./data/influx",
 * });
 * sink.readings([{ timestamp: Date.now(), machine: "m1", status: "RUNNING",
 *   channels: { temperature: 71.5 } }]);
 * await sink.close();
 * ```
 */
export class InfluxSink implements Sink {
  readonly #delivery: Delivery;
  readonly #closeDeadlineMs: number;
  #closed = false;

  private constructor(delivery: Delivery, closeDeadlineMs: number) {
    this.#delivery = delivery;
    this.#closeDeadlineMs = closeDeadlineMs;
  }

  /**
   * Opens (or creates) the spool in `dir`, queues what a previous run left unacknowledged and
   * starts writing.
   * @throws {RangeError} for a URL that is not one of the forms, or a bad bound.
   * @throws {Deno.errors.NotCapable} when the URL's host is not allowed by `--allow-net`.
   */
  static async open(options: InfluxSinkOptions): Promise<InfluxSink> {
    const endpoint: InfluxEndpoint = parseInfluxUrl(options.url);
    const settings = resolveDeliveryOptions({
      ...options,
      batchSize: options.batchSize ?? 5000,
      maxQueued: options.maxQueued ?? 200_000,
    });
    await requireNet(new URL(endpoint.writeUrl), `InfluxDB URL ${JSON.stringify(endpoint.target)}`);
    await Deno.mkdir(options.dir, { recursive: true });
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (options.token) headers.authorization = `Token ${options.token}`;
    const delivery = await Delivery.open({
      dir: options.dir,
      key: endpoint.writeUrl,
      target: endpoint.target,
      targetField: "url",
      extension: "lp",
      isValid: (line) => line.startsWith("vigil_"),
      send: async (lines, signal) => {
        const res = await fetch(endpoint.writeUrl, {
          method: "POST",
          headers,
          body: lines.join("\n"),
          signal,
        });
        return await sendResultOf(res);
      },
      sink: "influx",
      label: "InfluxDB write",
      items: "Points",
      noun: "points",
    }, settings);
    return new InfluxSink(delivery, settings.closeDeadlineMs);
  }

  #push(line: string | null): void {
    if (line !== null && !this.#closed) this.#delivery.push(line);
  }

  /** Queues a `vigil_reading` point per reading. Never throws, never waits. */
  readings(readings: readonly Reading[]): void {
    for (const r of readings) this.#push(readingPoint(r));
  }

  /** Queues a `vigil_row` point (without `<ch>_std`: only {@linkcode results} has it). */
  row(row: ProcessedRow): void {
    this.#push(rowPoint(row));
  }

  /** Queues a `vigil_anomaly` point. */
  anomaly(event: AnomalyEvent): void {
    this.#push(anomalyPoint(event));
  }

  /**
   * The batch's readings, rows and events, the rows with each channel's standard deviation over
   * the window, read from the per-reading values of the reading that closed the row.
   */
  results(readings: readonly Reading[], result: AnalysisResult): void {
    this.readings(readings);
    const values = result.values;
    const rows = result.rows;
    for (let i = 0; i < rows.length; i++) {
      const index = rows.index[i]!, row = rows.row(i);
      let e = values?.first[index] ?? -1;
      const reading = readings[index];
      if (e === -1 || !values || !reading) {
        this.row(row);
        continue;
      }
      // The reading's channels are in the values in `for…in` order (core/analysis.ts).
      const std: Record<string, number> = {};
      for (const name in reading.channels) std[name] = values.std[e++]!;
      this.#push(rowPoint(row, std));
    }
    for (const { event } of result.events) this.anomaly(event);
  }

  /** The target's delivery counts (`vigil_influx_*` in `GET /metrics`). */
  health(): DeliveryStats[] {
    return [this.#delivery.health()];
  }

  /**
   * Stops taking points, spools any not yet spooled, keeps writing until the queue is empty or
   * `deadlineMs` has passed; what is left is written by the next open on the same directory.
   * Idempotent.
   */
  async close(deadlineMs: number = this.#closeDeadlineMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#delivery.close(Date.now() + deadlineMs);
  }
}
