/**
 * The domain types shared by sources, the pipeline, sinks and the API.
 * @module
 */

/** A machine's operating status, as the simulator and `POST /status` use it. */
export type MachineStatus = "STARTED" | "RUNNING" | "PAUSED" | "COMPLETED" | "SHUTDOWN";

/** Every machine status, in the order of a normal production cycle. */
export const MACHINE_STATUSES: readonly MachineStatus[] = [
  "STARTED",
  "RUNNING",
  "PAUSED",
  "COMPLETED",
  "SHUTDOWN",
];

/**
 * One normalised reading: what every source produces and `stream_output.jsonl` stores.
 * Channels are the numeric fields (temperature, speed, voltage, …); NaN and ±Infinity never
 * reach here, the parser rejects them.
 */
export interface Reading {
  /** Event time, epoch milliseconds (UTC). */
  timestamp: number;
  /** Machine id; `m1` when the input names none. */
  machine: string;
  /** Machine or device status as reported, or `null` when the input carries none. */
  status: string | null;
  /** Numeric channels, in input order. */
  channels: Record<string, number>;
  /** Ground truth from the simulator: the fault injected into this reading, if any. */
  injected?: string;
}

/** Severity of an anomaly event. */
export type Severity = "INFO" | "WARNING" | "CRITICAL";

/** One anomaly event, exactly the contract's schema (`anomalies.jsonl`, `/anomalies`). */
export interface AnomalyEvent {
  /** ISO 8601 event time of the reading that raised it. */
  timestamp: string;
  machine: string;
  /** `THRESHOLD_BREACH_<CH>`, `RAPID_CHANGE_<CH>`, `ZSCORE_<CH>`, `DEVIATION_<CH>`, … */
  type: string;
  severity: Severity;
  channel: string | null;
  value: number | null;
  threshold: number | null;
  description: string;
  /**
   * Under the adaptive detector, the incident the event belongs to (see engine/core/incidents.ts):
   * `<machine>@<timestamp of its first raise>`; null for a clear of no known alarm. Absent under
   * `--detector zscore`, whose events stay as they were.
   */
  incident?: string | null;
}

/** Per-channel part of a processed row. */
export interface ChannelSummary {
  current: number;
  moving_avg: number;
  trend: Trend;
  zscore: number;
}

/** Trend of a channel over the moving window. */
export type Trend = "stable" | "increasing" | "decreasing";

/** One processed row: a machine's state over the last `--window` readings. */
export interface ProcessedRow {
  /** ISO 8601 event time of the reading that closed the row. */
  timestamp: string;
  machine: string;
  channels: Record<string, ChannelSummary>;
  status_current: string | null;
  status_mode: string | null;
  status_changes: number;
  health_score: number;
  alerts: string[];
  /** Isolation-forest score, when a model is loaded. */
  anomaly_score?: number;
}
