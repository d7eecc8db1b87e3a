/**
 * The names of the data directory's files, which sources, the pipeline and sinks all refer to.
 * @module
 */

/**
 * File names in the data directory (the contract's).
 *
 * @example
 * ```ts
 * import { join } from "node:path";
 * import { FILES } from "./files.ts";
 *
 * join("./data", FILES.stream); // "data/stream_output.jsonl"
 * ```
 */
export const FILES = {
  stream: "stream_output.jsonl",
  analysis: "analysis_output.csv",
  anomalies: "anomalies.jsonl",
  report: "anomaly_report.json",
  errors: "parser_errors.log",
  structured: "structured_metrics.csv",
  raw: "raw.log",
  checkpoint: "checkpoint.json",
  mqttDeliveries: "mqtt_deliveries.jsonl",
} as const;
