/**
 * The layout of a processed row: the row a machine gets once per processing interval, built
 * from the reading that opens the interval, the kernel's results for its channels and the
 * machine's recent statuses. Apart from the analyzer, which only decides when a row is due, so
 * that the row's fields, alerts and health score read in one place.
 * @module
 */
import { type ChannelConfig, channelLabel } from "../core/channel_config.ts";
import { FLAG } from "../core/analysis.ts";
import type { KernelOutput } from "../kernels/rolling/kernel_types.ts";
import { type RowTable, TREND_CODE } from "../core/row_table.ts";

/**
 * `x` rounded to `digits` decimals, as rows and events print their numbers.
 *
 * @example
 * ```ts
 * import { round } from "./row_builder.ts";
 *
 * round(21.34567, 3); // 21.346
 * ```
 */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The most frequent of `statuses` (ties go to the most recent one) and how many times the
 * status changed from one to the next, oldest first. `statuses` may be a ring whose oldest
 * entry is at `oldest`.
 *
 * @example
 * ```ts
 * import { statusSummary } from "./row_builder.ts";
 *
 * statusSummary(["RUNNING", "IDLE", "IDLE", "RUNNING"]); // { mode: "RUNNING", changes: 2 }
 * ```
 */
export function statusSummary(
  statuses: readonly (string | null)[],
  oldest = 0,
): { mode: string | null; changes: number } {
  let mode: string | null = null;
  let best = 0;
  let changes = 0;
  // The default window is 5: counting by comparing with the earlier entries is cheaper there
  // than a map per row; a long window (up to 65,536) counts with a map.
  const counts = statuses.length > SHORT_WINDOW ? new Map<string | null, number>() : null;
  const n = statuses.length;
  // Ring positions stepped and wrapped by hand rather than a `%` per access.
  let at = oldest >= n ? oldest % n : oldest;
  // The oldest entry is its own previous (no change): the comparison then runs from the first
  // entry on (see the counting loop below).
  let previous = statuses[at] as string | null;
  for (let i = 0; i < n; i++) {
    const s = statuses[at] as string | null;
    let c = 0;
    if (counts) counts.set(s, c = (counts.get(s) ?? 0) + 1);
    else {
      // Up to and with this entry (it counts itself): the loop's body then runs from the first
      // row on, a machine's first rows having a window of one; were it first run by the second
      // row, after this (and `appendRow` with it inlined) was optimized, it deoptimized them.
      // `b` starts at the oldest entry, `at - i` wrapped (written so that the branch taken is
      // the one a window that has not yet wrapped takes too).
      let b = at + n - i;
      if (b >= n) b -= n;
      for (let j = 0; j <= i; j++) {
        if (statuses[b] === s) c++;
        if (++b === n) b = 0;
      }
    }
    // Ties go to the most recent status: `>=` lets a later one take over.
    if (c >= best) {
      best = c;
      mode = s;
    }
    // Added, not incremented under a test: the sum then runs from the first row on, before
    // any status changed.
    changes += s !== previous ? 1 : 0;
    previous = s;
    if (++at === n) at = 0;
  }
  return { mode, changes };
}

/** Windows up to this long count statuses without a map (see {@linkcode statusSummary}). */
const SHORT_WINDOW = 16;

/** What {@linkcode appendRow} reads besides the reading's machine and status. */
export interface RowInput {
  /** The reading's event time, ISO 8601 (the analyzer formats it once per reading). */
  iso: string;
  /** Channel limits and wording of the analyzer. */
  channels: Readonly<Record<string, ChannelConfig>>;
  /** The machine's last `window` statuses, this reading's included: oldest first from
   * `oldest` on, a ring (see {@linkcode statusSummary}). */
  statuses: readonly (string | null)[];
  oldest: number;
  /** The kernel's results of the slice; null when the slice had no channel values (then the
   * reading has none either and nothing is read from it). */
  out: KernelOutput | null;
  /** The kernel's input values of the slice: the reading's channel values, from `first` on.
   * (Read here rather than from the reading: a property read by a `for…in` key boxes a new
   * heap number.) */
  values: Float64Array;
  /** The reading's first entry in `out` and `values`; its channels follow in their order. */
  first: number;
  /** The reading's number of entries (channels). */
  count: number;
  /** The kernel's input stream ids of the slice: entry `e`'s channel is
   * `streamChannel[streams[e]]`. */
  streams: Int32Array;
  /** Per stream id, its channel's name. */
  streamChannel: readonly string[];
  /** Per entry of `out`, 1 when the channel's checks apply to the reading's status
   * (`activeStatuses`; the analyzer decided it for the kernel input already). */
  active: Uint8Array;
  /** The machine's last isolation-forest `score_samples`; NaN: no `anomaly_score` field. */
  anomalyScore: number;
}

/**
 * Appends to `table` the processed row of a reading (index `index` of its batch, of `machine`
 * and `status`, its channels `input.count` entries from `input.first`): per channel
 * its value, moving average, trend and z-score; the status mode and changes over the window;
 * alerts (normal range of the moving average, alert range and z-score of the reading, paused
 * machine, frequent status changes) and the health score they lower from 1. Checks of a
 * channel apply only in its `activeStatuses`. The row is copied out of `input` (the kernel's
 * views and the status ring change with the next slice and reading); no object is built for it
 * ({@linkcode RowTable.row} builds one when asked).
 *
 * @example
 * ```ts
 * import { RowTable } from "../core/row_table.ts";
 * import { appendRow, type RowInput } from "./row_builder.ts";
 *
 * declare const input: RowInput;
 * const table = new RowTable();
 * appendRow(table, 0, "m1", "RUNNING", input);
 * table.row(0).health_score;
 * ```
 */
export function appendRow(
  table: RowTable,
  index: number,
  machine: string,
  status: string | null,
  input: RowInput,
): void {
  const { out, streams, streamChannel } = input;
  // Whether a channel's check fails: its alerts are then built apart (`rowAlerts`).
  let alerting = false;
  for (let e = input.first, end = input.first + input.count; e < end; e++) {
    const name = streamChannel[streams[e]!]!;
    const flags = out!.flags[e]!;
    const trend = flags & FLAG.TREND_UP
      ? INCREASING
      : flags & FLAG.TREND_DOWN
      ? DECREASING
      : STABLE;
    const mean = out!.mean[e]!;
    const z = out!.zscore[e]!;
    // `round(x, 3)` written out (10 ** 3 is exactly 1000: the same doubles).
    table.addEntry(
      name,
      input.values[e]!,
      Math.round(mean * 1000) / 1000,
      trend,
      Math.round(z * 1000) / 1000,
    );
    if (!alerting) {
      const config = input.channels[name];
      if (config && input.active[e] === 1) alerting = channelFails(config, flags, mean);
    }
  }
  const { mode, changes } = statusSummary(input.statuses, input.oldest);
  pending.alerts = null;
  pending.health = 1;
  if (alerting || status === "PAUSED" || changes >= 3) rowAlerts(input, status, changes);
  const score = input.anomalyScore;
  table.addRow(
    index,
    input.iso,
    machine,
    status,
    mode,
    changes,
    Math.round(Math.max(0, Math.min(1, pending.health)) * 100) / 100,
    pending.alerts,
    Number.isNaN(score) ? NaN : Math.round(score * 1e6) / 1e6,
  );
}

// The trends' codes as constants: a property of `TREND_CODE` read here only once a channel
// first trends down (long after `appendRow` was optimized) deoptimized it.
const STABLE = TREND_CODE.stable, INCREASING = TREND_CODE.increasing;
const DECREASING = TREND_CODE.decreasing;

/** Whether a channel whose checks apply fails one (see {@linkcode rowAlerts}). */
function channelFails(config: ChannelConfig, flags: number, mean: number): boolean {
  const normal = config.normal;
  if ((flags & (FLAG.HIGH | FLAG.LOW | FLAG.ZSCORE)) !== 0) return true;
  return normal ? mean > normal[1] || mean < normal[0] : false;
}

/** The alerts and health of the row {@linkcode appendRow} is building (one at a time): the
 * alerts are null until a check fails (most rows have none and get no array). */
const pending = { alerts: null as string[] | null, health: 1 };

/**
 * The alerts of a row that has some, in order: per channel whose checks apply, its moving
 * average outside the normal range, its reading outside the alert range, its z-score unusual;
 * then the machine paused, then frequent status changes. Each lowers the health from 1
 * (`pending`). Apart from `appendRow`, with a single call there: a row's first alert of each
 * kind comes long after `appendRow` was optimized, and each such late path written in it
 * deoptimized and recompiled it (its largest compiles).
 */
function rowAlerts(input: RowInput, status: string | null, changes: number): void {
  const { out, streams, streamChannel } = input;
  for (let e = input.first, end = input.first + input.count; e < end; e++) {
    const name = streamChannel[streams[e]!]!;
    const config = input.channels[name];
    if (!config || input.active[e] !== 1) continue;
    const flags = out!.flags[e]!;
    const mean = out!.mean[e]!;
    if (config.normal && mean > config.normal[1]) {
      alert(`${channelLabel(name, config)} above normal range`, 0.2);
    } else if (config.normal && mean < config.normal[0]) {
      alert(`${channelLabel(name, config)} below normal range`, 0.2);
    }
    if (flags & (FLAG.HIGH | FLAG.LOW)) {
      alert(`${channelLabel(name, config)} outside alert range`, 0.3);
    }
    if (flags & FLAG.ZSCORE) {
      const z = out!.zscore[e]!.toFixed(1);
      alert(`${channelLabel(name, config)} reading unusual (z = ${z})`, 0.1);
    }
  }
  if (status === "PAUSED") alert("Machine paused - may require attention", 0.1);
  if (changes >= 3) alert("Frequent status changes", 0.1);
}

/** Adds an alert to the pending row and lowers its health by `cost`. */
function alert(text: string, cost: number): void {
  (pending.alerts ??= []).push(text);
  pending.health -= cost;
}
