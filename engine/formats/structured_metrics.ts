/**
 * `structured_metrics.csv`: the parsed device readings, one row each.
 * @module
 */
import type { Reading } from "../core/types.ts";
import { csvLine } from "./csv.ts";

/** The header of `structured_metrics.csv` (the contract's columns). */
export const STRUCTURED_HEADER = "timestamp,machine,temperature,voltage,status";

/**
 * The CSV row of a reading, without newline: ISO event time, machine, temperature and voltage
 * as JavaScript prints them (empty when the reading has none), status (empty when none). Only
 * fields of the reading, so a replay of `raw.log` writes the same bytes as the live run.
 */
export function structuredMetricsLine(r: Reading): string {
  return csvLine([
    new Date(r.timestamp).toISOString(),
    r.machine,
    r.channels.temperature,
    r.channels.voltage,
    r.status,
  ]);
}
