/**
 * The pure core of the pipeline: readings in, processed rows and anomaly events out. One kernel
 * call per slice of up to `batchCapacity` channel values; everything else here is per-reading
 * bookkeeping that needs no statistics (status window, edge detection, row layout).
 * @module
 */
import {
  channelCode,
  type ChannelConfig,
  channelLabel,
  MACHINE_CHANNELS,
} from "../core/channel_config.ts";
import { DeviceStatusTracker } from "./device_status_tracker.ts";
import { HeartbeatMonitor } from "./heartbeat_monitor.ts";
import type { OnlineForests } from "./online_forest.ts";
import {
  type AnalysisResult,
  FLAG,
  type IsolationScorer,
  type ReadingValues,
} from "../core/analysis.ts";
import {
  type Kernel,
  type KernelOutput,
  type StreamLimits,
} from "../kernels/rolling/kernel_types.ts";
import type { AnomalyEvent, ChannelSummary, ProcessedRow, Reading, Trend } from "../core/types.ts";

/** Options of {@linkcode Analyzer}. */
export interface AnalyzerOptions {
  /** Event time between processed rows of one machine, ms. @default {10000} */
  processingIntervalMs?: number;
  /** Channel limits and wording. @default {MACHINE_CHANNELS} */
  channels?: Readonly<Record<string, ChannelConfig>>;
  /** Raise `HEARTBEAT_LOSS`/`HEARTBEAT_RESTORED` when a machine's readings are more than this
   * many ms of event time apart (and, live, from {@linkcode Analyzer.checkHeartbeat}); null:
   * no heartbeat events. @default {null} */
  heartbeatTimeoutMs?: number | null;
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
}

interface MachineState {
  /** Stream id per channel. */
  streams: Map<string, number>;
  /** Processing bucket (`floor(time / interval)`) of the last row; -Infinity before any. */
  bucket: number;
  /** The last `window` statuses, oldest first. */
  statuses: (string | null)[];
  /** `score_samples` of the machine's last scored reading; NaN before any. */
  score: number;
  /** Whether that reading was an outlier (`decision_function < 0`): the alarm's state. */
  outlier: boolean;
}

/** The alarms that are states (hysteresis keeps one counter per stream for each). */
const ALARMS = [FLAG.HIGH, FLAG.LOW, FLAG.RAPID, FLAG.ZSCORE, FLAG.DEVIATION] as const;

/**
 * A reading in an event description: two decimals ("95.50"), or three significant digits for a
 * small non-zero value (a band energy of 0.00044 is not "0.00").
 */
function formatValue(x: number): string {
  return x !== 0 && Math.abs(x) < 0.1 ? x.toPrecision(3) : x.toFixed(2);
}

/** A limit in an event description: one decimal ("80.0"), or exactly as configured when one
 * decimal would change it (0.25, 0.008). */
function formatLimit(x: number): string {
  return Number(x.toFixed(1)) === x ? x.toFixed(1) : String(x);
}

/** The kernel's limits of a channel (NaN: no such check). */
function limitsOf(c: ChannelConfig | undefined): StreamLimits {
  return {
    low: c?.alert?.[0] ?? NaN,
    high: c?.alert?.[1] ?? NaN,
    maxDelta: c?.maxDelta ?? NaN,
    maxDeviationPct: c?.maxDeviationPct ?? NaN,
  };
}

/** Whether `r` has a value for every one of `features`. */
function hasAll(r: Reading, features: readonly string[]): boolean {
  for (const f of features) if (r.channels[f] === undefined) return false;
  return true;
}

/** `ISOLATION_FOREST`: the machine's readings turned anomalous for `model`. */
function forestEvent(
  r: Reading,
  iso: string,
  model: IsolationScorer["model"],
  score: number,
  decision: number,
): AnomalyEvent {
  return {
    timestamp: iso,
    machine: r.machine,
    type: "ISOLATION_FOREST",
    severity: "WARNING",
    channel: null,
    value: round(score, 6),
    threshold: model.offset,
    description: `Isolation forest: ${model.features.join(", ")} look anomalous (score ${
      score.toFixed(4)
    }, decision ${decision.toFixed(4)} < 0).`,
  };
}

function emptyValues(zThreshold: number): ReadingValues {
  return {
    count: 0,
    first: new Int32Array(0),
    mean: new Float64Array(0),
    std: new Float64Array(0),
    zscore: new Float64Array(0),
    flags: new Uint32Array(0),
    zThreshold,
  };
}

/** Makes room for `entries` entries, keeping the ones already filled (doubling). */
function growValues(v: ReadingValues, entries: number): void {
  if (v.mean.length >= entries) return;
  const size = Math.max(entries, 2 * v.mean.length, 64);
  const grow = (a: Float64Array) => {
    const b = new Float64Array(size);
    b.set(a.subarray(0, v.count));
    return b;
  };
  v.mean = grow(v.mean);
  v.std = grow(v.std);
  v.zscore = grow(v.zscore);
  const flags = new Uint32Array(size);
  flags.set(v.flags.subarray(0, v.count));
  v.flags = flags;
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

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
  readonly #prevFlags: Uint32Array;
  /** Hysteresis channels: alarms raised and not yet cleared, per stream. */
  readonly #raised: Uint32Array;
  /** Hysteresis channels: consecutive normal readings per stream and alarm. */
  readonly #normalRun: Uint32Array;
  readonly #heartbeat: HeartbeatMonitor | null;
  readonly #deviceStatus: DeviceStatusTracker | null;
  readonly #window: number;
  readonly #forest: IsolationScorer | null;
  readonly #online: OnlineForests | null;
  /** Feature rows of one scoring call (reused; grown to the largest call). */
  #features = new Float64Array(0);
  /** Per reading of the batch being analysed: the forest that scored it. */
  #scorerOf: (IsolationScorer | null)[] = [];
  /** Per reading of the batch being analysed: score and decision, NaN when not scored. */
  #scores = new Float64Array(0);
  #decisions = new Float64Array(0);
  #zThreshold: number;
  /** The two alternating sets of {@linkcode ReadingValues} (empty without `readingValues`). */
  readonly #valueSets: ReadingValues[] = [];
  #valueTurn = 0;
  // Kernel input, reused for every slice.
  readonly #inStream: Int32Array;
  readonly #inTime: Float64Array;
  readonly #inValue: Float64Array;

  constructor(kernel: Kernel, options: AnalyzerOptions = {}) {
    const interval = options.processingIntervalMs ?? 10_000;
    if (!(interval > 0)) throw new RangeError(`processing interval must be > 0, got ${interval}`);
    this.#kernel = kernel;
    this.#interval = interval;
    this.#channels = options.channels ?? MACHINE_CHANNELS;
    this.#window = kernel.options.window;
    this.#zThreshold = kernel.options.zThreshold;
    this.#prevFlags = new Uint32Array(kernel.options.maxStreams);
    this.#raised = new Uint32Array(kernel.options.maxStreams);
    this.#normalRun = new Uint32Array(kernel.options.maxStreams * ALARMS.length);
    const heartbeat = options.heartbeatTimeoutMs ?? null;
    this.#heartbeat = heartbeat === null ? null : new HeartbeatMonitor({ timeoutMs: heartbeat });
    this.#deviceStatus = options.deviceStatus ? new DeviceStatusTracker() : null;
    this.#forest = options.isolationForest ?? null;
    this.#online = options.onlineForests ?? null;
    if (this.#forest && this.#online) {
      throw new RangeError("isolationForest and onlineForests exclude each other");
    }
    if (options.readingValues) {
      for (let k = 0; k < 2; k++) this.#valueSets.push(emptyValues(this.#zThreshold));
    }
    const cap = kernel.options.batchCapacity;
    this.#inStream = new Int32Array(cap);
    this.#inTime = new Float64Array(cap);
    this.#inValue = new Float64Array(cap);
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
    this.#prevFlags.fill(0);
    this.#raised.fill(0);
    this.#normalRun.fill(0);
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

  /** Analyses readings in order. */
  analyze(readings: readonly Reading[]): AnalysisResult {
    const result: AnalysisResult = { rows: [], events: [], rejected: [] };
    if (this.#valueSets.length > 0) {
      const values = this.#valueSets[this.#valueTurn]!;
      this.#valueTurn ^= 1;
      values.count = 0;
      values.zThreshold = this.#zThreshold;
      if (values.first.length < readings.length) {
        values.first = new Int32Array(Math.max(readings.length, 2 * values.first.length));
      }
      result.values = values;
    }
    if (this.#forest || this.#online) this.#scoreAll(readings);
    const cap = this.#kernel.options.batchCapacity;
    const entryOf: number[] = []; // first kernel entry of each reading in the slice, -1 if refused
    let sliceStart = 0;
    let n = 0;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      let count = 0;
      for (const _ in r.channels) count++;
      if (n + count > cap) {
        this.#run(readings, sliceStart, i, entryOf, n, result);
        sliceStart = i;
        n = 0;
        entryOf.length = 0;
      }
      const machine = this.#machine(r.machine);
      let ok = true;
      let first = n;
      for (const name in r.channels) {
        const stream = this.#stream(machine, name);
        if (stream === -1) {
          ok = false;
          break;
        }
        this.#inStream[n] = stream;
        this.#inTime[n] = r.timestamp;
        this.#inValue[n] = r.channels[name]!;
        n++;
      }
      if (!ok) {
        n = first;
        first = -1;
        result.rejected.push({
          index: i,
          error: `stream capacity ${this.#kernel.options.maxStreams} exhausted`,
        });
      }
      entryOf.push(first);
    }
    this.#run(readings, sliceStart, readings.length, entryOf, n, result);
    return result;
  }

  /**
   * Scores the batch's readings that carry every feature of their forest (the model, or their
   * machine's online forest once trained), grouped by forest, `batchCapacity` records per WASM
   * call; the others get NaN. A reading with a non-finite feature cannot reach here (the parsers
   * refuse NaN and Infinity).
   */
  #scoreAll(readings: readonly Reading[]): void {
    if (this.#scores.length < readings.length) {
      this.#scores = new Float64Array(readings.length);
      this.#decisions = new Float64Array(readings.length);
    }
    this.#scores.fill(NaN, 0, readings.length);
    this.#decisions.fill(NaN, 0, readings.length);
    this.#scorerOf.length = readings.length;
    const groups = new Map<IsolationScorer, number[]>();
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const scorer = this.#forest
        ? (hasAll(r, this.#forest.model.features) ? this.#forest : null)
        : this.#online!.scorerFor(r);
      this.#scorerOf[i] = scorer;
      if (scorer) {
        const group = groups.get(scorer);
        if (group) group.push(i);
        else groups.set(scorer, [i]);
      }
    }
    for (const [scorer, indices] of groups) this.#score(scorer, readings, indices);
  }

  /** Scores `indices` of `readings` with `scorer`, a batch at a time. */
  #score(scorer: IsolationScorer, readings: readonly Reading[], indices: number[]): void {
    const names = scorer.model.features;
    const d = names.length;
    const cap = scorer.batchCapacity;
    if (this.#features.length < Math.min(cap, indices.length) * d) {
      this.#features = new Float64Array(Math.min(cap, indices.length) * d);
    }
    const x = this.#features;
    for (let from = 0; from < indices.length; from += cap) {
      const n = Math.min(cap, indices.length - from);
      for (let k = 0; k < n; k++) {
        const channels = readings[indices[from + k]!]!.channels;
        for (let j = 0; j < d; j++) x[k * d + j] = channels[names[j]!]!;
      }
      const { scoreSamples, decisionFunction } = scorer.scoreBatch(x, n);
      for (let k = 0; k < n; k++) {
        this.#scores[indices[from + k]!] = scoreSamples[k]!;
        this.#decisions[indices[from + k]!] = decisionFunction[k]!;
      }
    }
  }

  #machine(id: string): MachineState {
    let m = this.#machines.get(id);
    if (!m) {
      m = { streams: new Map(), bucket: -Infinity, statuses: [], score: NaN, outlier: false };
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
      m.streams.set(channel, id);
      this.#kernel.setLimits(id, limitsOf(this.#channels[channel]));
    }
    return id;
  }

  #run(
    readings: readonly Reading[],
    from: number,
    to: number,
    entryOf: readonly number[],
    n: number,
    result: AnalysisResult,
  ): void {
    const out = n > 0
      ? this.#kernel.process(
        { stream: this.#inStream, time: this.#inTime, value: this.#inValue },
        n,
      )
      : null;
    const values = result.values;
    if (values) {
      // Bulk copies of the kernel's views: one `set` per array and slice, not per reading.
      const base = values.count;
      growValues(values, base + n);
      if (out) {
        values.mean.set(out.mean, base);
        values.std.set(out.std, base);
        values.zscore.set(out.zscore, base);
        values.flags.set(out.flags, base);
      }
      for (let i = from; i < to; i++) {
        const first = entryOf[i - from]!;
        values.first[i] = first === -1 ? -1 : base + first;
      }
      values.count = base + n;
    }
    for (let i = from; i < to; i++) {
      const first = entryOf[i - from]!;
      if (first === -1) continue;
      this.#walk(readings[i]!, i, first, out, result);
    }
  }

  /** Per-reading bookkeeping after the kernel ran: status window, events, the row if due. */
  #walk(
    r: Reading,
    index: number,
    first: number,
    out: KernelOutput | null,
    result: AnalysisResult,
  ) {
    const m = this.#machines.get(r.machine)!;
    m.statuses.push(r.status);
    if (m.statuses.length > this.#window) m.statuses.shift();
    // Only rows and events need the ISO time; most readings produce neither.
    let iso = "";
    if (this.#heartbeat) {
      for (const event of this.#heartbeat.observe(r.machine, r.timestamp)) {
        result.events.push({ index, event });
      }
    }
    let e = first;
    for (const name in r.channels) {
      const stream = this.#inStream[e]!;
      const flags = out!.flags[e]!;
      const config = this.#channels[name];
      const active = !config?.activeStatuses || config.activeStatuses.includes(r.status ?? "");
      const live = active ? flags : 0;
      let rising: number;
      let clearing = 0;
      if (config?.clearAfter !== undefined) {
        [rising, clearing] = this.#hysteresis(
          stream,
          live,
          active,
          r.channels[name]!,
          config,
          out!,
          e,
        );
      } else {
        rising = live & ~this.#prevFlags[stream]!;
        // A rapid change is an event each time it happens; the others are states, raised once
        // when they begin.
        this.#prevFlags[stream] = live & ~FLAG.RAPID;
      }
      if (
        (rising | clearing) & (FLAG.HIGH | FLAG.LOW | FLAG.RAPID | FLAG.ZSCORE | FLAG.DEVIATION)
      ) {
        iso ||= new Date(r.timestamp).toISOString();
        this.#events(r, iso, index, name, config, rising, clearing, out!, e, result);
      }
      e++;
    }
    if (this.#deviceStatus) {
      for (const event of this.#deviceStatus.observe(r.machine, r.status, r.timestamp)) {
        result.events.push({ index, event });
      }
    }
    if ((this.#forest || this.#online) && !Number.isNaN(this.#decisions[index]!)) {
      const decision = this.#decisions[index]!;
      m.score = this.#scores[index]!;
      // A state like the other alarms: raised once when the machine turns anomalous.
      if (decision < 0 && !m.outlier) {
        iso ||= new Date(r.timestamp).toISOString();
        const model = this.#scorerOf[index]!.model;
        result.events.push({ index, event: forestEvent(r, iso, model, m.score, decision) });
      }
      m.outlier = decision < 0;
    }
    const bucket = Math.floor(r.timestamp / this.#interval);
    if (bucket !== m.bucket) {
      m.bucket = bucket;
      iso ||= new Date(r.timestamp).toISOString();
      result.rows.push({ index, row: this.#row(r, iso, m, first, out) });
    }
  }

  /**
   * One stream's alarms as states: returns the alarms that start (`rising`) and those that
   * clear after `clearAfter` consecutive normal readings (`clearing`). A reading still within
   * `clearBand` of a limit is neither alarming nor normal: it holds the count at 0.
   */
  #hysteresis(
    stream: number,
    live: number,
    active: boolean,
    value: number,
    config: ChannelConfig,
    out: KernelOutput,
    e: number,
  ): [number, number] {
    const clearAfter = config.clearAfter!;
    const band = config.clearBand ?? 0;
    let raised = this.#raised[stream]!;
    let rising = 0;
    let clearing = 0;
    for (let k = 0; k < ALARMS.length; k++) {
      const bit = ALARMS[k]!;
      const slot = stream * ALARMS.length + k;
      if (live & bit) {
        if (!(raised & bit)) {
          rising |= bit;
          raised |= bit;
        }
        this.#normalRun[slot] = 0;
      } else if (raised & bit) {
        const inBand = active && band > 0 && (
          bit === FLAG.HIGH
            ? value > config.alert![1] - band
            : bit === FLAG.LOW
            ? value < config.alert![0] + band
            : bit === FLAG.RAPID
            ? Math.abs(out.delta[e]!) > config.maxDelta! - band
            : false
        );
        if (inBand) {
          this.#normalRun[slot] = 0;
        } else if (++this.#normalRun[slot]! >= clearAfter) {
          clearing |= bit;
          raised &= ~bit;
          this.#normalRun[slot] = 0;
        }
      }
    }
    this.#raised[stream] = raised;
    return [rising, clearing];
  }

  #events(
    r: Reading,
    iso: string,
    index: number,
    channel: string,
    config: ChannelConfig | undefined,
    rising: number,
    clearing: number,
    out: KernelOutput,
    e: number,
    result: AnalysisResult,
  ): void {
    const value = r.channels[channel]!;
    const label = channelLabel(channel, config);
    const unit = config?.unit ?? "";
    const code = channelCode(channel);
    const v = `${formatValue(value)}${unit}`;
    const push = (
      type: string,
      severity: AnomalyEvent["severity"],
      threshold: number,
      description: string,
    ) =>
      result.events.push({
        index,
        event: {
          timestamp: iso,
          machine: r.machine,
          type: `${type}_${code}`,
          severity,
          channel,
          value,
          threshold,
          description,
        },
      });
    if (rising & FLAG.HIGH) {
      const t = config!.alert![1];
      push(
        "THRESHOLD_BREACH",
        "CRITICAL",
        t,
        `${label} ${v} exceeded threshold of ${formatLimit(t)}${unit}.`,
      );
    }
    if (rising & FLAG.LOW) {
      const t = config!.alert![0];
      push(
        "THRESHOLD_BREACH",
        "CRITICAL",
        t,
        `${label} ${v} fell below threshold of ${formatLimit(t)}${unit}.`,
      );
    }
    if (rising & FLAG.RAPID) {
      const t = config!.maxDelta!;
      const d = out.delta[e]!;
      push(
        "RAPID_CHANGE",
        "WARNING",
        t,
        `${label} changed by ${d.toFixed(2)}${unit} to ${v} between consecutive readings (limit ${
          formatLimit(t)
        }${unit}).`,
      );
    }
    if (rising & FLAG.ZSCORE) {
      const z = out.zscore[e]!;
      push(
        "ZSCORE",
        "WARNING",
        this.#zThreshold,
        `${label} ${v} has a z-score of ${z.toFixed(2)} against its recent normal (threshold ${
          this.#zThreshold.toFixed(1)
        }).`,
      );
    }
    if (rising & FLAG.DEVIATION) {
      const t = config!.maxDeviationPct!;
      push(
        "DEVIATION",
        "WARNING",
        t,
        `${label} ${v} deviates ${out.deviation[e]!.toFixed(1)}% from its moving average ${
          out.mean[e]!.toFixed(2)
        }${unit} (limit ${formatLimit(t)}%).`,
      );
    }
    // Clearing events: the same type as the alarm they end, severity INFO.
    if (clearing & FLAG.HIGH) {
      const t = config!.alert![1];
      push(
        "THRESHOLD_BREACH",
        "INFO",
        t,
        `${label} ${v} back below threshold of ${formatLimit(t)}${unit}.`,
      );
    }
    if (clearing & FLAG.LOW) {
      const t = config!.alert![0];
      push(
        "THRESHOLD_BREACH",
        "INFO",
        t,
        `${label} ${v} back above threshold of ${formatLimit(t)}${unit}.`,
      );
    }
    if (clearing & FLAG.RAPID) {
      const t = config!.maxDelta!;
      push(
        "RAPID_CHANGE",
        "INFO",
        t,
        `${label} changed by ${out.delta[e]!.toFixed(2)}${unit} to ${v}, back within the limit of ${
          formatLimit(t)
        }${unit} between consecutive readings.`,
      );
    }
    if (clearing & FLAG.ZSCORE) {
      push(
        "ZSCORE",
        "INFO",
        this.#zThreshold,
        `${label} ${v} is back within the z-score threshold of ${
          this.#zThreshold.toFixed(1)
        } (z = ${out.zscore[e]!.toFixed(2)}).`,
      );
    }
    if (clearing & FLAG.DEVIATION) {
      const t = config!.maxDeviationPct!;
      push(
        "DEVIATION",
        "INFO",
        t,
        `${label} ${v} is back within ${formatLimit(t)}% of its moving average ${
          out.mean[e]!.toFixed(2)
        }${unit}.`,
      );
    }
  }

  #row(r: Reading, iso: string, m: MachineState, first: number, out: KernelOutput | null) {
    const channels: Record<string, ChannelSummary> = {};
    const alerts: string[] = [];
    let health = 1;
    let e = first;
    for (const name in r.channels) {
      const flags = out!.flags[e]!;
      const trend: Trend = flags & FLAG.TREND_UP
        ? "increasing"
        : flags & FLAG.TREND_DOWN
        ? "decreasing"
        : "stable";
      const mean = out!.mean[e]!;
      const value = r.channels[name]!;
      channels[name] = {
        current: value,
        moving_avg: round(mean, 3),
        trend,
        zscore: round(out!.zscore[e]!, 3),
      };
      const config = this.#channels[name];
      if (config && (!config.activeStatuses || config.activeStatuses.includes(r.status ?? ""))) {
        const label = channelLabel(name, config);
        if (config.normal && mean > config.normal[1]) {
          alerts.push(`${label} above normal range`);
          health -= 0.2;
        } else if (config.normal && mean < config.normal[0]) {
          alerts.push(`${label} below normal range`);
          health -= 0.2;
        }
        if (flags & (FLAG.HIGH | FLAG.LOW)) {
          alerts.push(`${label} outside alert range`);
          health -= 0.3;
        }
        if (flags & FLAG.ZSCORE) {
          alerts.push(`${label} reading unusual (z = ${out!.zscore[e]!.toFixed(1)})`);
          health -= 0.1;
        }
      }
      e++;
    }
    let mode: string | null = null;
    let best = 0;
    let changes = 0;
    const counts = new Map<string | null, number>();
    m.statuses.forEach((s, i) => {
      const c = (counts.get(s) ?? 0) + 1;
      counts.set(s, c);
      // Ties go to the most recent status: `>=` lets a later one take over.
      if (c >= best) {
        best = c;
        mode = s;
      }
      if (i > 0 && s !== m.statuses[i - 1]) changes++;
    });
    if (r.status === "PAUSED") {
      alerts.push("Machine paused - may require attention");
      health -= 0.1;
    }
    if (changes >= 3) {
      alerts.push("Frequent status changes");
      health -= 0.1;
    }
    return {
      timestamp: iso,
      machine: r.machine,
      channels,
      status_current: r.status,
      status_mode: mode,
      status_changes: changes,
      health_score: round(Math.max(0, Math.min(1, health)), 2),
      alerts,
      ...((this.#forest || this.#online) && !Number.isNaN(m.score)
        ? { anomaly_score: round(m.score, 6) }
        : {}),
    } satisfies ProcessedRow;
  }
}
