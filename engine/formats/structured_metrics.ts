/**
 * `structured_metrics.csv`: the parsed device readings, one row each.
 * @module
 */
import type { Reading } from "../core/types.ts";

/** The header of `structured_metrics.csv` (the contract's columns). */
export const STRUCTURED_HEADER = "timestamp,machine,temperature,voltage,status";

/**
 * The CSV row of a reading, without newline: ISO event time, machine, temperature and voltage
 * as JavaScript prints them (empty when the reading has none), status (empty when none). Only
 * fields of the reading, so a replay of `raw.log` writes the same bytes as the live run.
 */
export function structuredMetricsLine(r: Reading): string {
  const t = r.channels.temperature;
  const v = r.channels.voltage;
  return `${new Date(r.timestamp).toISOString()},${cell(r.machine)},${t === undefined ? "" : t},${
    v === undefined ? "" : v
  },${r.status === null ? "" : cell(r.status)}`;
}

function cell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
