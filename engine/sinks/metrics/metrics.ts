/**
 * Prometheus metrics for `GET /metrics`: counters fed by the pipeline (a
 * {@linkcode PipelineListener}) and gauges read from the engine's state at scrape time, written in
 * the text exposition format 0.0.4.
 *
 * Every label set is bounded: anomaly types come from channel names (a CSV can have any number of
 * columns), so at most `maxAnomalySeries` distinct type × severity pairs are kept and the rest are
 * counted under `type="other"`; sources and webhook targets are few by construction, and machines
 * are deliberately not a label (a fleet of thousands would be thousands of series per metric).
 * @module
 */
import type { PipelineListener } from "../../pipeline/pipeline.ts";
import type { EngineState } from "../../core/state.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";

/** What an event-stream hub exposes (`EventHub`'s getters). */
export interface EventStreamGauges {
  /** Clients subscribed now. */
  readonly clients: number;
  /** Clients dropped so far for being too slow. */
  readonly dropped: number;
}

/** Delivery counts of one webhook target (`WebhookSink.stats()` gives one per URL). */
export interface WebhookTargetStats {
  /** The URL without credentials, query or fragment (they may carry secrets). */
  target: string;
  /** Events waiting to be delivered (in the spool, not yet acknowledged). */
  queued: number;
  /** Events the target acknowledged with a 2xx. */
  delivered: number;
  /** Events evicted unsent because the queue was full. */
  dropped: number;
  /** Events the target refused with a permanent 4xx, logged and skipped. */
  rejected: number;
  /** POST attempts that failed (network error, timeout, 408, 429, 5xx) and were retried. */
  failures: number;
}

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** The live state read at scrape time (sources, parser errors, machines, start time). */
  state: EngineState;
  /** The `/events` hub, for `vigil_event_clients` and `vigil_event_clients_dropped_total`.
   * @default {undefined} (not exposed) */
  events?: EventStreamGauges;
  /** The webhook sink, for the `vigil_webhook_*` metrics. @default {undefined} (not exposed) */
  webhooks?: { stats(): readonly WebhookTargetStats[] };
  /**
   * Most distinct anomaly type × severity label pairs; events of a further pair are counted
   * under `type="other"` with their severity. A positive integer. @default {200}
   */
  maxAnomalySeries?: number;
  /** Most sources exposed with a `source` label (the first ones registered). A positive
   * integer. @default {50} */
  maxSources?: number;
}

/** One sample: labels (in order) and value. */
type Sample = readonly [labels: readonly (readonly [string, string])[], value: number];

/** Escapes a label value: backslash, double quote and line feed, as format 0.0.4 requires. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n");
}

/** Escapes a HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\\" ? "\\\\" : "\\n");
}

/** A sample value as Prometheus parses it (Go's ParseFloat plus `+Inf`, `-Inf`, `NaN`). */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function family(
  name: string,
  type: "counter" | "gauge",
  help: string,
  samples: readonly Sample[],
): string {
  let out = `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  for (const [labels, value] of samples) {
    out += name;
    if (labels.length > 0) {
      out += "{" + labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",") + "}";
    }
    out += " " + formatValue(value) + "\n";
  }
  return out;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/**
 * The metrics registry. Register it as an `OutputSink` listener (it counts what the pipeline
 * writes from this process's start: history re-read on a restart is not counted again), call
 * {@linkcode Metrics.observeKernel} after each kernel call, and serve
 * {@linkcode Metrics.render} as `text/plain; version=0.0.4; charset=utf-8`.
 *
 * Exposed: `vigil_readings_total`, `vigil_rows_total`, `vigil_anomalies_total{type,severity}`,
 * `vigil_parser_errors_total`, `vigil_source_up{source}`,
 * `vigil_source_readings_total{source}`, `vigil_source_errors_total{source}`,
 * `vigil_machines`, `vigil_kernel_seconds_total`, `vigil_kernel_readings_total`,
 * `vigil_kernel_calls_total`, `vigil_start_time_seconds`, and when given the event hub
 * `vigil_event_clients`, `vigil_event_clients_dropped_total`, and the webhook sink
 * `vigil_webhook_queued{target}`, `vigil_webhook_delivered_total{target}`,
 * `vigil_webhook_dropped_total{target}`, `vigil_webhook_rejected_total{target}`,
 * `vigil_webhook_failures_total{target}`.
 */
export class Metrics implements PipelineListener {
  readonly #state: EngineState;
  readonly #events: EventStreamGauges | undefined;
  readonly #webhooks: { stats(): readonly WebhookTargetStats[] } | undefined;
  readonly #maxAnomalySeries: number;
  readonly #maxSources: number;
  #readings = 0;
  #rows = 0;
  /** `type\0severity` → count; at most `maxAnomalySeries` keys plus the `other` ones. */
  readonly #anomalies = new Map<string, number>();
  #kernelSeconds = 0;
  #kernelReadings = 0;
  #kernelCalls = 0;

  /** @throws {RangeError} for a bound that is not a positive integer. */
  constructor(options: MetricsOptions) {
    this.#state = options.state;
    this.#events = options.events;
    this.#webhooks = options.webhooks;
    this.#maxAnomalySeries = positiveInteger(
      "maxAnomalySeries",
      options.maxAnomalySeries ?? 200,
    );
    this.#maxSources = positiveInteger("maxSources", options.maxSources ?? 50);
  }

  /** Counts readings written by the pipeline. */
  readings(readings: readonly Reading[]): void {
    this.#readings += readings.length;
  }

  /** Counts a processed row. */
  row(_row: ProcessedRow): void {
    this.#rows++;
  }

  /** Counts an anomaly event by type and severity (bounded, see the module doc). */
  anomaly(event: AnomalyEvent): void {
    let key = event.type + "\0" + event.severity;
    if (!this.#anomalies.has(key) && this.#anomalies.size >= this.#maxAnomalySeries) {
      key = "other\0" + event.severity;
    }
    this.#anomalies.set(key, (this.#anomalies.get(key) ?? 0) + 1);
  }

  /**
   * Records one kernel call: `ms` milliseconds spent on `readings` readings. Non-finite or
   * negative times are ignored (a clock that went backwards must not make a counter decrease).
   */
  observeKernel(ms: number, readings: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.#kernelSeconds += ms / 1000;
    this.#kernelReadings += Number.isFinite(readings) && readings > 0 ? readings : 0;
    this.#kernelCalls++;
  }

  /** The whole exposition, text format 0.0.4, families in a fixed order. */
  render(): string {
    const state = this.#state;
    const sources = state.sources().slice(0, this.#maxSources);
    const anomalies: Sample[] = [...this.#anomalies].map(([key, n]): Sample => {
      const [type, severity] = key.split("\0") as [string, string];
      return [[["type", type], ["severity", severity]], n];
    }).sort((a, b) => {
      const [ta, sa] = [a[0][0]![1], a[0][1]![1]];
      const [tb, sb] = [b[0][0]![1], b[0][1]![1]];
      return ta < tb ? -1 : ta > tb ? 1 : sa < sb ? -1 : sa > sb ? 1 : 0;
    });
    const bySource = (value: (s: (typeof sources)[number]) => number): Sample[] =>
      sources.map((s) => [[["source", s.name]], value(s)]);

    let out = "";
    out += family("vigil_readings_total", "counter", "Readings written by the pipeline.", [
      [[], this.#readings],
    ]);
    out += family("vigil_rows_total", "counter", "Processed rows written.", [[[], this.#rows]]);
    out += family(
      "vigil_anomalies_total",
      "counter",
      "Anomaly events raised, by type and severity.",
      anomalies,
    );
    out += family(
      "vigil_parser_errors_total",
      "counter",
      "Input lines or readings rejected (parser errors and refused readings).",
      [[[], state.totals.errors]],
    );
    out += family(
      "vigil_source_up",
      "gauge",
      "1 while the source is starting or running, 0 when finished or failed.",
      bySource((s) => s.state === "running" || s.state === "starting" ? 1 : 0),
    );
    out += family(
      "vigil_source_readings_total",
      "counter",
      "Readings read from the source.",
      bySource((s) => s.readings),
    );
    out += family(
      "vigil_source_errors_total",
      "counter",
      "Lines from the source the parser rejected.",
      bySource((s) => s.errors),
    );
    out += family("vigil_machines", "gauge", "Machines seen.", [[[], state.machines().length]]);
    out += family(
      "vigil_kernel_seconds_total",
      "counter",
      "Time spent in the analysis kernel, seconds.",
      [[[], this.#kernelSeconds]],
    );
    out += family(
      "vigil_kernel_readings_total",
      "counter",
      "Readings passed through the analysis kernel.",
      [[[], this.#kernelReadings]],
    );
    out += family("vigil_kernel_calls_total", "counter", "Analysis kernel calls (batches).", [
      [[], this.#kernelCalls],
    ]);
    if (this.#events) {
      out += family("vigil_event_clients", "gauge", "Clients subscribed to GET /events.", [
        [[], this.#events.clients],
      ]);
      out += family(
        "vigil_event_clients_dropped_total",
        "counter",
        "Event-stream clients dropped for falling too far behind.",
        [[[], this.#events.dropped]],
      );
    }
    if (this.#webhooks) {
      const stats = this.#webhooks.stats();
      const byTarget = (value: (s: WebhookTargetStats) => number): Sample[] =>
        stats.map((s) => [[["target", s.target]], value(s)]);
      out += family(
        "vigil_webhook_queued",
        "gauge",
        "Anomaly events waiting in the webhook spool.",
        byTarget((s) => s.queued),
      );
      out += family(
        "vigil_webhook_delivered_total",
        "counter",
        "Anomaly events acknowledged by the webhook target.",
        byTarget((s) => s.delivered),
      );
      out += family(
        "vigil_webhook_dropped_total",
        "counter",
        "Anomaly events evicted unsent because the webhook queue was full.",
        byTarget((s) => s.dropped),
      );
      out += family(
        "vigil_webhook_rejected_total",
        "counter",
        "Anomaly events the webhook target refused with a permanent 4xx.",
        byTarget((s) => s.rejected),
      );
      out += family(
        "vigil_webhook_failures_total",
        "counter",
        "Webhook POST attempts that failed and were retried.",
        byTarget((s) => s.failures),
      );
    }
    out += family(
      "vigil_start_time_seconds",
      "gauge",
      "Start time of the engine, seconds since the epoch.",
      [[[], state.startedAt / 1000]],
    );
    return out;
  }
}
