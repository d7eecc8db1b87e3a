/**
 * Prometheus metrics for `GET /metrics`: counters fed by the pipeline (a
 * {@linkcode Sink}) and gauges read from the engine's state at scrape time, written in
 * the text exposition format 0.0.4.
 *
 * Every label set is bounded: anomaly types come from channel names (a CSV can have any number of
 * columns), so at most `maxAnomalySeries` distinct type × severity pairs are kept and the rest are
 * counted under `type="other"`; sources and webhook targets are few by construction, and machines
 * are deliberately not a label (a fleet of thousands would be thousands of series per metric).
 * @module
 */
import type { DeliveryStats, Sink } from "../sink.ts";
import type { EngineState } from "../../core/state.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { positiveInteger } from "../../core/validate.ts";

/** What an event-stream hub exposes (`EventHub`'s getters). */
export interface EventStreamGauges {
  /** Clients subscribed now. */
  readonly clients: number;
  /** Clients dropped so far for being too slow. */
  readonly dropped: number;
}

/** Options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /** The live state read at scrape time (sources, parser errors, machines, start time). */
  state: EngineState;
  /** The `/events` hub, for `vigil_event_clients` and `vigil_event_clients_dropped_total`.
   * @default {undefined} (not exposed) */
  events?: EventStreamGauges;
  /** The sinks whose {@linkcode Sink.health} gives delivery counts (`vigil_<sink>_*`).
   * @default {[]} */
  sinks?: readonly Sink[];
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

/**
 * The metrics registry. Register it as an `OutputSink` listener (it counts what the pipeline
 * writes from this process's start: history re-read on a restart is not counted again), call
 * {@linkcode Metrics.observeKernel} after each kernel call, and serve
 * {@linkcode Metrics.render} as `text/plain; version=0.0.4; charset=utf-8`.
 *
 * Exposed: `vigil_readings_total`, `vigil_rows_total`, `vigil_anomalies_total{type,severity}`,
 * `vigil_parser_errors_total`, `vigil_reading_order_total{kind}`, `vigil_source_up{source}`,
 * `vigil_source_readings_total{source}`, `vigil_source_errors_total{source}`,
 * `vigil_machines`, `vigil_kernel_seconds_total`, `vigil_kernel_readings_total`,
 * `vigil_kernel_calls_total`, `vigil_start_time_seconds`, and when given the event hub
 * `vigil_event_clients`, `vigil_event_clients_dropped_total`, and the webhook sink
 * `vigil_webhook_queued{target}`, `vigil_webhook_delivered_total{target}`,
 * `vigil_webhook_dropped_total{target}`, `vigil_webhook_rejected_total{target}`,
 * `vigil_webhook_failures_total{target}`.
 */
export class Metrics implements Sink {
  readonly #state: EngineState;
  readonly #events: EventStreamGauges | undefined;
  readonly #sinks: readonly Sink[];
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
    this.#sinks = options.sinks ?? [];
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
      "vigil_reading_order_total",
      "counter",
      "Readings not later than their machine's latest: older (out_of_order) or at the same " +
        "time (duplicate_timestamp); processed as they came.",
      [
        [[["kind", "out_of_order"]], state.totals.out_of_order],
        [[["kind", "duplicate_timestamp"]], state.totals.duplicate_timestamp],
      ],
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
    // One family set per delivering sink, in the order the sinks were given.
    const bySink = new Map<string, DeliveryStats[]>();
    for (const sink of this.#sinks) {
      for (const s of sink.health?.() ?? []) {
        const list = bySink.get(s.sink);
        if (list) list.push(s);
        else bySink.set(s.sink, [s]);
      }
    }
    for (const [name, stats] of bySink) {
      const { label, items } = stats[0]!;
      const byTarget = (value: (s: DeliveryStats) => number): Sample[] =>
        stats.map((s) => [[["target", s.target]], value(s)]);
      out += family(
        `vigil_${name}_queued`,
        "gauge",
        `${items} waiting in the ${name} spool.`,
        byTarget((s) => s.queued),
      );
      out += family(
        `vigil_${name}_delivered_total`,
        "counter",
        `${items} acknowledged by the ${name} target.`,
        byTarget((s) => s.delivered),
      );
      out += family(
        `vigil_${name}_dropped_total`,
        "counter",
        `${items} evicted unsent because the ${name} queue was full.`,
        byTarget((s) => s.dropped),
      );
      out += family(
        `vigil_${name}_rejected_total`,
        "counter",
        `${items} the ${name} target refused with a permanent 4xx.`,
        byTarget((s) => s.rejected),
      );
      out += family(
        `vigil_${name}_failures_total`,
        "counter",
        `${label} attempts that failed and were retried.`,
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
