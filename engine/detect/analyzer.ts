/**
 * The pure core of the pipeline: readings in, processed rows and anomaly events out. This file
 * is the orchestration: it assigns stream ids, cuts a batch into slices of up to
 * `batchCapacity` channel values, makes one kernel call per slice, and walks each reading's
 * results through the detectors in a fixed order. The detectors' rules live beside it, one
 * concern a file: alarm_state.ts (when an alarm is raised and cleared), event_text.ts (what
 * the events say), row_builder.ts (the processed row), model_scoring.ts (isolation forests),
 * reading_values.ts (per-reading results for the history store), and the heartbeat and device
 * status trackers.
 *
 * About 680 lines, over the ~400 of the project's rule: what is left here is the per-reading
 * loop and the state it reads per stream and per machine, kept by it so that the loop looks
 * nothing up by name (stream configs, active flags, heartbeat clocks, the ISO time of the tick).
 * Splitting that state from the loop would put a call or a lookup back on every reading. What
 * the loop meets rarely (events) is in methods of its own, for V8 (see `#channelEvents`).
 * @module
 */
import {
  type ChannelConfig,
  DEFAULT_OFF_DELAY,
  DEFAULT_ON_DELAY,
  MACHINE_CHANNELS,
} from "../core/channel_config.ts";
import { DeviceStatusTracker } from "./device_status_tracker.ts";
import { type Beat, HeartbeatMonitor } from "./heartbeat_monitor.ts";
import type { OnlineForests } from "./online_forest.ts";
import type { AnalysisResult, IsolationScorer } from "../core/analysis.ts";
import {
  type Kernel,
  type KernelOutput,
  type StreamLimits,
} from "../kernels/rolling/kernel_types.ts";
import type { AnomalyEvent, Reading } from "../core/types.ts";
import {
  ADAPTIVE_FLAG,
  type AdaptiveDetector,
  type AdaptiveOutput,
} from "../kernels/adaptive/adaptive_types.ts";
import { FLAG } from "../core/analysis.ts";
import { AlarmState, bandHold } from "./alarm_state.ts";
import { adaptiveEvent, alarmEvents } from "./event_text.ts";
import { type MachineScore, ModelScoring } from "./model_scoring.ts";
import { ReadingValueSets } from "./reading_values.ts";
import { appendRow, type RowInput } from "./row_builder.ts";
import { RowTable } from "../core/row_table.ts";
import { ReadingColumns } from "../core/reading_columns.ts";

/** Options of {@linkcode Analyzer}. */
export interface AnalyzerOptions {
  /** Event time between processed rows of one machine, ms. @default {10000} */
  processingIntervalMs?: number;
  /** Channel limits and wording. @default {MACHINE_CHANNELS} */
  channels?: Readonly<Record<string, ChannelConfig>>;
  /** Raise `HEARTBEAT_LOSS`/`HEARTBEAT_RESTORED` when a machine's readings are more than this
   * many ms of event time apart (and, live, from {@linkcode Analyzer.checkHeartbeat}); `"auto"`:
   * a timeout learned per machine ({@linkcode HeartbeatMonitor}); null: no heartbeat events.
   * @default {null} */
  heartbeatTimeoutMs?: number | "auto" | null;
  /** Raise `DEVICE_STATUS` from `WARNING_*`, `CRITICAL_*` and `OFFLINE` states (see
   * {@linkcode DeviceStatusTracker}). @default {false} */
  deviceStatus?: boolean;
  /** Scores every reading that carries all of the model's features (one call per batch) and
   * raises `ISOLATION_FOREST` when its `decision_function` turns negative; rows get
   * `anomaly_score`. @default {undefined} (no model) */
  isolationForest?: IsolationScorer;
  /** The online mode instead of one model: each machine's first readings train its own forest
   * (see {@linkcode OnlineForests}), which scores the rest like `isolationForest` does.
   * @default {undefined} */
  onlineForests?: OnlineForests;
  /**
   * Fill {@linkcode AnalysisResult.values} with every reading's per-channel kernel results (for
   * the history store). Off, nothing is copied: replay stays as fast as without it.
   * @default {false}
   */
  readingValues?: boolean;
  /**
   * The `adaptive` detector: this detector (the WASM one in the engine, the reference in tests;
   * room for the kernel's streams and batch) watches every channel, one call per slice, and
   * raises `ANOMALY_<CH>` from its RAISE/CLEAR flags; `ZSCORE_<CH>` is not raised (the rolling
   * statistics stay), and every other alarm is a state with the channel's `onDelay`/`offDelay`
   * (the isolation forest's with the defaults). Unset: the `zscore` detector, the alarms as
   * before (edge-triggered unless the channel has `clearAfter`). @default {undefined}
   */
  adaptive?: AdaptiveDetector;
}

/** Per machine: its streams, row bucket, status window and isolation-forest state. */
interface MachineState extends MachineScore {
  /** Its id, as readings name it. */
  id: string;
  /** The machine whose reading followed this one's last time (see `analyze`). */
  next: MachineState | undefined;
  /** Stream id per channel. */
  streams: Map<string, number>;
  /** The channel names of the machine's last reading, in order, and their stream ids: a
   * machine's readings nearly always carry the same channels in the same order, so a reading
   * finds its ids by comparing names (interned strings) instead of a map lookup each. */
  lastNames: string[];
  lastIds: number[];
  /** Processing bucket (`floor(time / interval)`) of the last row; -Infinity before any. */
  bucket: number;
  /** Its heartbeat clock (see {@linkcode HeartbeatMonitor.track}): undefined before its first
   * reading, null when heartbeat detection is off or does not watch it. */
  beat: Beat | null | undefined;
  /** The last `window` statuses: oldest first while fewer, then a ring whose oldest entry is at
   * `oldest` (written in place: no array shifted and regrown per reading). */
  statuses: (string | null)[];
  oldest: number;
}

/** Row tables an analyzer keeps for reuse, at most (see `#freeRows`): the pipeline holds a
 * batch or two between the analyzer and its writer. */
const FREE_ROW_TABLES = 4;

/** The kernel's limits of a channel (NaN: no such check). */
function limitsOf(c: ChannelConfig | undefined): StreamLimits {
  return {
    low: c?.alert?.[0] ?? NaN,
    high: c?.alert?.[1] ?? NaN,
    maxDelta: c?.maxDelta ?? NaN,
    maxDeviationPct: c?.maxDeviationPct ?? NaN,
  };
}

/**
 * Runs readings through the kernel and the detectors. Deterministic: the same readings in the
 * same order give the same rows and events, which is what makes replay byte-identical and
 * restarts exact.
 */
export class Analyzer {
  #kernel: Kernel;
  readonly #interval: number;
  readonly #channels: Readonly<Record<string, ChannelConfig>>;
  readonly #machines = new Map<string, MachineState>();
  readonly #streamChannel: string[] = [];
  /** Per stream id, its channel's config (undefined: a channel without one), so that the walk
   * indexes an array instead of looking the channel's name up in `#channels`. */
  readonly #streamConfig: (ChannelConfig | undefined)[] = [];
  readonly #alarms: AlarmState;
  readonly #heartbeat: HeartbeatMonitor | null;
  readonly #deviceStatus: DeviceStatusTracker | null;
  readonly #window: number;
  /** Null without a model and online forests. */
  readonly #scoring: ModelScoring | null;
  #zThreshold: number;
  /** Null without `readingValues`. */
  readonly #valueSets: ReadingValueSets | null;
  // Kernel input, reused for every slice.
  readonly #inStream: Int32Array;
  readonly #inTime: Float64Array;
  readonly #inValue: Float64Array;
  /** Null under the `zscore` detector. */
  readonly #adaptive: AdaptiveDetector | null;
  /** The adaptive detector's values: the reading's, NaN (missing) while the channel's checks
   * do not apply (`activeStatuses`), so a stopped machine teaches it nothing. */
  readonly #inAdaptive: Float64Array;
  /** Per kernel entry, 1 when the channel's checks apply to the reading's status
   * (`activeStatuses`): decided once in `analyze` for the adaptive input, the walk and the row. */
  readonly #inActive: Uint8Array;
  /** The last ISO time formatted and its epoch ms: readings come in ticks that share a time, so
   * the rows and events of one tick format it once. */
  #isoMs = NaN;
  #iso = "";
  /** Per reading of the slice `analyze` is cutting: its first kernel entry (-1: refused) and its
   * machine. Kept from slice to slice and batch to batch, refilled from index 0, and grown to
   * the most readings one slice held (at most a batch's): emptying arrays with `length = 0`
   * frees their backing store in V8, and regrowing them cost ~24 B of garbage a reading. */
  #entryOf = new Int32Array(1024);
  /** Per reading of the slice, its number of kernel entries (0: refused), kept like `#entryOf`:
   * the walk reads its entries by index, not by a `for…in` over its channels again. */
  #countOf = new Int32Array(1024);
  readonly #machineOf: MachineState[] = [];
  /** The input of {@linkcode appendRow}, one object refilled per row rather than a literal per
   * row: the call is not inlined, so each literal was a real allocation. */
  readonly #rowInput: RowInput;
  /** The previous batch's rows and channel entries: the next batch's table starts with room
   * for as many (batches of a run are alike), instead of doubling its way up every batch. */
  #rowsHint = 0;
  #entriesHint = 0;
  /** The rows of every empty batch: none, and never filled (see {@linkcode Analyzer.analyze}). */
  readonly #noRows = new RowTable();
  /** Row tables given back (`AnalysisResult.release`), for later batches: a table's nine typed
   * arrays of a batch's size, allocated per batch, were about 19 MB of a 1 M replay's 125 MB
   * of sampled allocation (BENCHMARKS.md, eleventh stop). At most
   * {@linkcode FREE_ROW_TABLES}. */
  readonly #freeRows: RowTable[] = [];
  /** The readings `analyze` is given as objects, as columns: refilled per batch. */
  readonly #scratch = new ReadingColumns();

  constructor(kernel: Kernel, options: AnalyzerOptions = {}) {
    const interval = options.processingIntervalMs ?? 10_000;
    if (!(interval > 0)) throw new RangeError(`processing interval must be > 0, got ${interval}`);
    this.#kernel = kernel;
    this.#interval = interval;
    this.#channels = options.channels ?? MACHINE_CHANNELS;
    this.#window = kernel.options.window;
    this.#zThreshold = kernel.options.zThreshold;
    this.#alarms = new AlarmState(kernel.options.maxStreams);
    const heartbeat = options.heartbeatTimeoutMs ?? null;
    this.#heartbeat = heartbeat === null ? null : new HeartbeatMonitor({ timeoutMs: heartbeat });
    this.#deviceStatus = options.deviceStatus ? new DeviceStatusTracker() : null;
    const forest = options.isolationForest ?? null;
    const online = options.onlineForests ?? null;
    const adaptive = this.#adaptive = options.adaptive ?? null;
    if (adaptive) {
      const a = adaptive.options, k = kernel.options;
      if (a.maxStreams < k.maxStreams || a.batchCapacity < k.batchCapacity) {
        throw new RangeError(
          `adaptive detector: maxStreams ${a.maxStreams} and batchCapacity ${a.batchCapacity} ` +
            `must be at least the kernel's (${k.maxStreams}, ${k.batchCapacity})`,
        );
      }
    }
    // The forest's alarm has no channel: it clears with the default delays.
    const delays = adaptive ? { onDelay: DEFAULT_ON_DELAY, offDelay: DEFAULT_OFF_DELAY } : null;
    this.#scoring = forest || online ? new ModelScoring(forest, online, delays) : null;
    this.#valueSets = options.readingValues ? new ReadingValueSets(this.#zThreshold) : null;
    const cap = kernel.options.batchCapacity;
    this.#inStream = new Int32Array(cap);
    this.#inTime = new Float64Array(cap);
    this.#inValue = new Float64Array(cap);
    this.#inAdaptive = new Float64Array(adaptive ? cap : 0);
    this.#inActive = new Uint8Array(cap);
    this.#rowInput = {
      iso: "",
      channels: this.#channels,
      statuses: [],
      oldest: 0,
      out: null,
      values: this.#inValue,
      first: 0,
      count: 0,
      streams: this.#inStream,
      streamChannel: this.#streamChannel,
      active: this.#inActive,
      anomalyScore: NaN,
    };
  }

  /** Streams in use (one per machine and channel). */
  get streams(): number {
    return this.#streamChannel.length;
  }

  /** Changes the z threshold from the next batch on. */
  setZThreshold(z: number): void {
    this.#kernel.setZThreshold(z);
    this.#zThreshold = z;
  }

  /**
   * Continues on `kernel` from the next batch: a live change of a setting fixed at configure
   * time (the model size). Every stream keeps its id and limits, and takes the current z
   * threshold; its window and z-score model start empty and refill from the next readings (the
   * model reports its completeness until full again), and no alarm state is kept, so an ongoing
   * anomaly is raised again. The new kernel must have the same window, batch capacity and room
   * for the streams in use. Throws a `RangeError` naming a mismatch.
   */
  replaceKernel(kernel: Kernel): void {
    const o = kernel.options, old = this.#kernel.options;
    for (const k of ["window", "batchCapacity", "maxStreams"] as const) {
      if (o[k] !== old[k]) {
        throw new RangeError(`replaceKernel: ${k} ${o[k]} differs from ${old[k]}`);
      }
    }
    for (let id = 0; id < this.#streamChannel.length; id++) {
      const c = this.#channels[this.#streamChannel[id]!];
      kernel.setLimits(id, limitsOf(c));
    }
    kernel.setZThreshold(this.#zThreshold);
    this.#kernel = kernel;
    this.#alarms.reset();
  }

  /**
   * Live heartbeat check at wall-clock time `now` (epoch ms): `HEARTBEAT_LOSS` for every
   * machine silent for more than the timeout, raised once (the next reading restores it).
   * Empty when heartbeat detection is off.
   */
  checkHeartbeat(now: number): AnomalyEvent[] {
    return this.#heartbeat?.check(now) ?? [];
  }

  /** The machines whose heartbeat is lost now, with the last reading time of each loss (for
   * the checkpoint); null when heartbeat detection is off. */
  heartbeatState(): Record<string, number> | null {
    return this.#heartbeat?.lostSince() ?? null;
  }

  /** Restart: the losses the previous run wrote (see {@linkcode HeartbeatMonitor.resume}). */
  resumeHeartbeat(lost: Readonly<Record<string, number>>): void {
    this.#heartbeat?.resume(lost);
  }

  /** Analyses readings in order (as {@linkcode Analyzer.analyzeColumns} does their columns). */
  analyze(readings: readonly Reading[]): AnalysisResult {
    const columns = this.#scratch;
    columns.clear();
    for (let i = 0; i < readings.length; i++) columns.push(readings[i]!);
    return this.#analyze(columns, readings);
  }

  /**
   * Analyses readings given as columns, in order: the same rows and events as
   * {@linkcode Analyzer.analyze} of the same readings as objects, none of which is built (but
   * for the isolation forests, which read objects).
   */
  analyzeColumns(columns: ReadingColumns): AnalysisResult {
    return this.#analyze(columns, this.#scoring ? columns.readings() : null);
  }

  /** `readings`: the same readings as objects, for the forests (null without them). */
  #analyze(c: ReadingColumns, readings: readonly Reading[] | null): AnalysisResult {
    const count = c.length;
    // An empty batch (a heartbeat tick) shares one table that is never filled: a table's nine
    // typed arrays cost a few microseconds however few rows they hold.
    const rows = count === 0 ? this.#noRows : this.#freeRows.pop()?.clear() ??
      new RowTable(this.#rowsHint, this.#rowsHint && this.#entriesHint / this.#rowsHint);
    const result: AnalysisResult = { rows, events: [], rejected: [] };
    // Not enumerable: a result compared or copied field by field is its rows, events and
    // refusals (as a batch's columns are not fields).
    if (rows !== this.#noRows) {
      Object.defineProperty(result, "release", { value: this.#giveBack(rows) });
    }
    if (this.#valueSets) result.values = this.#valueSets.begin(count, this.#zThreshold);
    // The forests score the whole batch before the kernel walk: few WASM calls, not one each.
    this.#scoring?.scoreAll(readings!);
    this.#slices(c, readings, result);
    // The most of recent batches, not the last one's: a file's batches alternate between full
    // ones and the rest of a read (8,192 and about 1,100 readings in the 1 M replay), and a
    // table sized by a short batch grew its way up in the next full one (copies of every
    // column, about 180 B a row).
    this.#rowsHint = Math.max(rows.length, this.#rowsHint - (this.#rowsHint >> 3));
    this.#entriesHint = Math.max(rows.entries, this.#entriesHint - (this.#entriesHint >> 3));
    return result;
  }

  /**
   * Cuts the batch `c` into slices of up to `batchCapacity` channel values, finding each
   * reading's stream ids, and runs each slice (`#run`). Apart from `#analyze` for V8: this loop
   * is compiled while it runs (on-stack replacement) in the first batch, before any code after
   * it has run; code after the loop (the row hints) was compiled without feedback then and threw
   * the compiled loop away at its end, batch after batch. Here nothing but `#run` follows it.
   */
  #slices(
    c: ReadingColumns,
    readings: readonly Reading[] | null,
    result: AnalysisResult,
  ): void {
    const count = c.length;
    const cap = this.#kernel.options.batchCapacity;
    const machineOf = this.#machineOf;
    const { machine: machineIds, status: statuses, time, first: firstEntry, key, value } = c;
    let sliceStart = 0;
    let n = 0;
    let previous: MachineState | null = null;
    for (let i = 0; i < count; i++) {
      const id = machineIds[i]!;
      // Readings come machine after machine in the same order tick after tick: the machine that
      // followed this one's predecessor last time is tried before the map (one lookup a reading
      // was 1.4 % of a replay's CPU profile).
      let machine: MachineState | undefined = previous === null ? undefined : previous.next;
      if (machine === undefined || machine.id !== id) {
        machine = this.#machine(id);
        if (previous !== null) previous.next = machine;
      }
      const { lastNames, lastIds } = machine;
      const status = statuses[i] ?? "";
      const t = time[i]!;
      let ok = true;
      let first = n;
      let k = 0;
      // Whether the slice filled before this reading's last value: then the slice runs without
      // it and the reading is read again into the next one. (Counting each reading's channels
      // first, to cut before it, was one more loop a reading.) A reading alone bigger than a
      // slice (its first entry 0) cannot be cut: it is refused (`wide`).
      let full = false;
      let wide = false;
      for (let e = firstEntry[i]!, end = firstEntry[i + 1]!; e < end; e++) {
        if (n === cap) {
          if (first !== 0) full = true;
          else {
            wide = true;
            ok = false;
          }
          break;
        }
        const name = key[e]!;
        let stream: number;
        if (lastNames[k] === name) stream = lastIds[k]!;
        else {
          stream = this.#stream(machine, name);
          if (stream === -1) {
            ok = false;
            break;
          }
          lastNames[k] = name;
          lastIds[k] = stream;
        }
        k++;
        const v = value[e]!;
        const active = this.#streamConfig[stream]?.activeStatuses?.includes(status) ?? true;
        this.#inStream[n] = stream;
        this.#inTime[n] = t;
        this.#inValue[n] = v;
        this.#inActive[n] = active ? 1 : 0;
        if (this.#adaptive) this.#inAdaptive[n] = active ? v : NaN;
        n++;
      }
      if (full) {
        this.#run(c, readings, sliceStart, i, first, result);
        sliceStart = i;
        n = 0;
        i--;
        continue;
      }
      previous = machine;
      if (!ok) {
        n = first;
        first = -1;
        result.rejected.push({
          index: i,
          error: wide
            ? `more than ${cap} channel values in one reading: the kernel's batch capacity`
            : `stream capacity ${this.#kernel.options.maxStreams} exhausted`,
        });
      }
      if (ok && lastNames.length !== k) {
        lastNames.length = k;
        lastIds.length = k;
      }
      const j = i - sliceStart;
      if (j === this.#entryOf.length) {
        const grown = new Int32Array(2 * j);
        grown.set(this.#entryOf);
        this.#entryOf = grown;
        const counts = new Int32Array(2 * j);
        counts.set(this.#countOf);
        this.#countOf = counts;
      }
      this.#entryOf[j] = first;
      this.#countOf[j] = ok ? n - first : 0;
      // One store, in bounds or appending (j is at most the length), rather than a store and a
      // push: for V8, the store met only from the second batch on had no feedback in code
      // compiled (on-stack) in the first, and threw that code away in every batch after (214
      // deopts in a 1 M replay).
      machineOf[j] = machine;
    }
    this.#run(c, readings, sliceStart, count, n, result);
  }

  /** `release` of a result whose table is `rows`: kept for reuse; a second call does nothing
   * (the table may be another batch's by then). */
  #giveBack(rows: RowTable): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.#freeRows.length < FREE_ROW_TABLES) this.#freeRows.push(rows);
    };
  }

  #machine(id: string): MachineState {
    let m = this.#machines.get(id);
    if (!m) {
      m = {
        id,
        next: undefined,
        streams: new Map(),
        lastNames: [],
        lastIds: [],
        bucket: -Infinity,
        beat: undefined,
        statuses: [],
        oldest: 0,
        score: NaN,
        outlier: false,
      };
      this.#machines.set(id, m);
    }
    return m;
  }

  #stream(m: MachineState, channel: string): number {
    let id = m.streams.get(channel);
    if (id === undefined) {
      if (this.#streamChannel.length >= this.#kernel.options.maxStreams) return -1;
      id = this.#streamChannel.length;
      this.#streamChannel.push(channel);
      this.#streamConfig.push(this.#channels[channel]);
      m.streams.set(channel, id);
      this.#kernel.setLimits(id, limitsOf(this.#channels[channel]));
    }
    return id;
  }

  /** One kernel call for readings `from … to-1` (`n` entries), then their bookkeeping. */
  #run(
    c: ReadingColumns,
    readings: readonly Reading[] | null,
    from: number,
    to: number,
    n: number,
    result: AnalysisResult,
  ): void {
    const entryOf = this.#entryOf, countOf = this.#countOf, machineOf = this.#machineOf;
    const out = n > 0
      ? this.#kernel.process(
        { stream: this.#inStream, time: this.#inTime, value: this.#inValue },
        n,
      )
      : null;
    // The same slice, one call: stream ids and times are the kernel's.
    const adaptive = n > 0 && this.#adaptive
      ? this.#adaptive.process(
        { stream: this.#inStream, time: this.#inTime, value: this.#inAdaptive },
        n,
      )
      : null;
    if (result.values) ReadingValueSets.append(result.values, out, n, entryOf, from, to);
    for (let i = from; i < to; i++) {
      const first = entryOf[i - from]!;
      if (first === -1) continue;
      const count = countOf[i - from]!;
      this.#walk(c, readings, machineOf[i - from]!, i, first, count, out, adaptive, result);
    }
  }

  /**
   * Per-reading bookkeeping after the kernel ran: status window, then events in a fixed order
   * (heartbeat, each channel's alarms, device status, isolation forest), then the row if due.
   */
  #walk(
    c: ReadingColumns,
    readings: readonly Reading[] | null,
    m: MachineState,
    index: number,
    first: number,
    count: number,
    out: KernelOutput | null,
    adaptive: AdaptiveOutput | null,
    result: AnalysisResult,
  ) {
    const machine = m.id, status = c.status[index] ?? null, t = c.time[index]!;
    if (m.statuses.length < this.#window) m.statuses.push(status);
    else {
      m.statuses[m.oldest] = status;
      if (++m.oldest === this.#window) m.oldest = 0;
    }
    const events = result.events;
    const heartbeat = this.#heartbeat;
    if (heartbeat) {
      // The machine's clock is kept with its state: no lookup by name per reading. Its events
      // (rare) are appended by the monitor, so that no code of this function waits for the
      // first loss to be met (late in a run) and then throws the compiled walk away.
      const beat = m.beat;
      if (beat === undefined) m.beat = heartbeat.track(machine, t);
      else if (beat !== null) heartbeat.observeInto(beat, machine, t, events, index);
    }
    const alarms = this.#alarms;
    // The reading's entries in the kernel's input, in its channels' order; a channel's name is
    // its stream's (the name `analyze` found the stream by).
    const end = first + count;
    for (let e = first; e < end; e++) {
      const stream = this.#inStream[e]!;
      const config = this.#streamConfig[stream];
      const active = this.#inActive[e] === 1;
      const live = active ? out!.flags[e]! : 0;
      const value = this.#inValue[e]!;
      if (adaptive) {
        // The adaptive alarm replaces the z-score one; the limits become states with delays.
        const hold = active && config ? bandHold(config, value, out!.delta[e]!) : 0;
        alarms.delays(
          stream,
          live & ~FLAG.ZSCORE,
          hold,
          config?.onDelay ?? DEFAULT_ON_DELAY,
          config?.offDelay ?? config?.clearAfter ?? DEFAULT_OFF_DELAY,
        );
      } else if (config?.clearAfter !== undefined) {
        const hold = active ? bandHold(config, value, out!.delta[e]!) : 0;
        alarms.hysteresis(stream, live, hold, config.clearAfter);
      } else {
        alarms.edge(stream, live);
      }
      const aFlags = adaptive
        ? adaptive.flags[e]! & (ADAPTIVE_FLAG.RAISE | ADAPTIVE_FLAG.CLEAR)
        : 0;
      if (alarms.rising | alarms.clearing | aFlags) {
        this.#channelEvents(events, index, machine, t, e, stream, value, config, out, adaptive);
      }
    }
    if (this.#deviceStatus) {
      // Indexed, not `for…of`: the loop runs per reading over an answer that is nearly always
      // empty, and an iterator and its result per reading were a measurable share of the
      // replay's garbage (BENCHMARKS.md, "Less garbage on the analysis side").
      const changes = this.#deviceStatus.observe(machine, status, t);
      for (let j = 0; j < changes.length; j++) events.push({ index, event: changes[j]! });
    }
    if (this.#scoring) {
      const event = this.#scoring.observe(readings![index]!, index, m);
      if (event) events.push({ index, event });
    }
    const bucket = Math.floor(t / this.#interval);
    if (bucket !== m.bucket) {
      m.bucket = bucket;
      const input = this.#rowInput;
      input.iso = this.#isoOf(t);
      input.statuses = m.statuses;
      input.oldest = m.oldest;
      input.out = out;
      input.first = first;
      input.count = count;
      input.anomalyScore = m.score;
      appendRow(result.rows, index, machine, status, input);
    }
  }

  /**
   * The events of entry `e` (a reading's channel value) whose alarm state rose or cleared or
   * whose adaptive flags raise or clear: apart from `#walk`, for V8. Most kinds are first met
   * late in a run (the adaptive detector's after its warm-up, 80 % into the 1 M replay); in the
   * walk, each was code compiled without feedback, so each threw the walk's compiled code away
   * and had it compiled again (Maglev and TurboFan, tens of ms of background compile each).
   * Here that happens to this small function, and the walk meets one call, reached with the
   * first alarm of the run.
   */
  #channelEvents(
    events: AnalysisResult["events"],
    index: number,
    machine: string,
    t: number,
    e: number,
    stream: number,
    value: number,
    config: ChannelConfig | undefined,
    out: KernelOutput | null,
    adaptive: AdaptiveOutput | null,
  ): void {
    const alarms = this.#alarms;
    const reading = {
      machine,
      timestamp: this.#isoOf(t),
      channel: this.#streamChannel[stream]!,
      value,
    };
    if (alarms.rising | alarms.clearing) {
      const at = {
        ...reading,
        delta: out!.delta[e]!,
        zscore: out!.zscore[e]!,
        deviation: out!.deviation[e]!,
        mean: out!.mean[e]!,
      };
      const texts = alarmEvents(alarms.rising, alarms.clearing, at, config, this.#zThreshold);
      for (const event of texts) events.push({ index, event });
    }
    const flags = adaptive ? adaptive.flags[e]! : 0;
    if (flags & (ADAPTIVE_FLAG.RAISE | ADAPTIVE_FLAG.CLEAR)) {
      const at = {
        ...reading,
        score: adaptive!.score[e]!,
        level: adaptive!.level[e]!,
        scale: adaptive!.scale[e]!,
      };
      const detector = this.#adaptive!.options;
      if (flags & ADAPTIVE_FLAG.RAISE) {
        events.push({ index, event: adaptiveEvent("raise", at, config, detector) });
      }
      if (flags & ADAPTIVE_FLAG.CLEAR) {
        const kind = flags & ADAPTIVE_FLAG.ACCEPTED ? "accept" : "clear";
        events.push({ index, event: adaptiveEvent(kind, at, config, detector) });
      }
    }
  }

  /** `ms` as ISO 8601, formatted once per distinct time in a row (see `#isoMs`). */
  #isoOf(ms: number): string {
    if (ms !== this.#isoMs) {
      this.#iso = new Date(ms).toISOString();
      this.#isoMs = ms;
    }
    return this.#iso;
  }
}
