/**
 * The engine's live state as the API sees it: machines, their latest reading and processed
 * row, recent anomaly events, the active alarms, source health. Bounded: the anomaly list keeps
 * the newest `anomalyCapacity` events, the active alarms at most `alarmCapacity`.
 *
 * A little over 400 lines: the one class the API and the pipeline share, whose readers and
 * writers are small methods on the same maps; split, each half would reach into the other's.
 * @module
 */
import { type ActiveAlarm, type ActiveAlarmFilter, ActiveAlarms } from "./active_alarms.ts";
import { assertTransition, isKnownStatus } from "./status.ts";
import type { AnomalyEvent, MachineStatus, ProcessedRow, Reading, Severity } from "./types.ts";
import type { RowTable } from "./row_table.ts";
import type { ReadingColumns } from "./reading_columns.ts";

/** Something that can really change a machine's status (the simulator can; a file cannot). */
export interface MachineController {
  /** Whether this controller drives `machine`. */
  controls(machine: string): boolean;
  /** Changes the machine's status and resolves with the reading taken right after it. */
  setStatus(machine: string, status: MachineStatus): Promise<Reading>;
}

/** What the API knows of one machine. */
export interface MachineView {
  id: string;
  status: string | null;
  lastReading: Reading | null;
  lastRow: ProcessedRow | null;
}

/** State of one source, for `/health`. */
export interface SourceHealth {
  name: string;
  /** `disconnected`: a device that went away and is being retried (counts as degraded). */
  state: "starting" | "running" | "finished" | "disconnected" | "error";
  readings: number;
  errors: number;
  detail?: string;
}

/** Machines that get a warning for their first late or repeated reading; past that many, the
 * counters still count, silently. */
export const MAX_ORDER_NOTICES = 1000;

/** A machine's first reading that was not later than its latest (see
 * {@linkcode EngineState.recordReadings}). */
export interface OrderNotice {
  machine: string;
  kind: "out_of_order" | "duplicate_timestamp";
  /** The reading's event time, epoch ms. */
  timestamp: number;
  /** The machine's latest event time before it, epoch ms. */
  latest: number;
}

/** The first reading with a status word Vigil's detectors do not know (`isKnownStatus`). */
export interface StatusNotice {
  machine: string;
  kind: "unknown_status";
  status: string;
}

/** What {@linkcode EngineState.recordReadings} tells once, for a warning. */
export type ReadingNotice = OrderNotice | StatusNotice;

/** Status words that get a warning; past that many, further unknown words are kept silently. */
export const MAX_STATUS_NOTICES = 100;

/** A machine with the latest event time of its readings (for the order counters). */
interface MachineEntry extends MachineView {
  latest: number;
  /** The number of the last batch of columns it had a reading in (or of rows it had a row
   * in), and that reading's index there (see {@linkcode EngineState.recordColumns}). */
  batch: number;
  lastIndex: number;
  /** The machine whose reading followed this one's last time in a batch of columns: tried
   * before the map (see `recordColumns`). */
  next: MachineEntry | undefined;
}

/** Filter of {@linkcode EngineState.anomalies}. */
export interface AnomalyFilter {
  /** Only events at or after this epoch-ms time. */
  since?: number;
  severity?: Severity;
  type?: string;
  machine?: string;
  /** At most this many, the newest. @default {100} */
  limit?: number;
}

/** Options of {@linkcode EngineState}. */
export interface EngineStateOptions {
  /** Anomaly events kept in memory for `/anomalies`; 0 keeps none (`replay` and `eval`, which
   * serve no API, pass 0). @default {10000} */
  anomalyCapacity?: number;
  /** Keep each machine's latest processed row (`lastRow`, for `/data`). Off (`replay` and
   * `eval`, which serve no API), rows are only counted, and a replay's rows are written as CSV
   * without ever being built as objects (BENCHMARKS.md, "Rows written where they are read").
   * @default {true} */
  lastRows?: boolean;
  /** Keep each machine's latest reading (`lastReading`, for `/machines` and `/status`). Off
   * (`replay`, which serves no API), a batch of columns builds no reading object for it.
   * @default {true} */
  lastReadings?: boolean;
  /** Active alarms kept for `/alarms`; when full, the one whose latest raise is oldest is
   * evicted (and counted in {@linkcode EngineState.alarmsEvicted}). @default {10000} */
  alarmCapacity?: number;
}

/** Options of {@linkcode EngineState.recordAnomalies}. */
export interface RecordAnomaliesOptions {
  /**
   * Whether the events also raise and clear active alarms. A restart re-reads history through
   * the analyzer, which does not raise again every event it wrote (a timer's heartbeat loss,
   * events under a z threshold changed through `/control`), so its alarms are rebuilt from
   * `anomalies.jsonl` instead (see `restoreAlarms`) and its re-run events pass `false`.
   * @default {true}
   */
  alarms?: boolean;
}

/** Thrown for a machine the engine has never seen. */
export class UnknownMachineError extends Error {
  constructor(readonly machine: string) {
    super(`Unknown machine: ${machine}`);
    this.name = "UnknownMachineError";
  }
}

/** Thrown when a status change is asked of a machine no controller drives. */
export class NotControllableError extends Error {
  constructor(readonly machine: string) {
    super(`Machine ${machine} is not controllable: its readings come from a recorded source`);
    this.name = "NotControllableError";
  }
}

/** The live state shared by the pipeline (writer) and the API (reader). */
export class EngineState {
  readonly startedAt = Date.now();
  readonly #machines = new Map<string, MachineEntry>();
  readonly #anomalies: AnomalyEvent[] = [];
  readonly #anomalyCapacity: number;
  readonly #lastRows: boolean;
  readonly #lastReadings: boolean;
  /** Batches of columns recorded (see `MachineEntry.batch`), and the machines of the last. */
  #batches = 0;
  readonly #touched: MachineEntry[] = [];
  readonly #alarms: ActiveAlarms;
  readonly #sources = new Map<string, SourceHealth>();
  #controller: MachineController | null = null;
  /** Running totals of the data directory (see `carryCounts`): `out_of_order` counts readings
   * older than their machine's latest, `duplicate_timestamp` readings at exactly its time. */
  readonly totals = {
    readings: 0,
    rows: 0,
    anomalies: 0,
    errors: 0,
    out_of_order: 0,
    duplicate_timestamp: 0,
  };
  /** Machines already told of (see {@linkcode OrderNotice}); bounded. */
  readonly #warned = new Set<string>();
  /** Unknown status words already told of (see {@linkcode StatusNotice}); bounded. */
  readonly #unknownStatuses = new Set<string>();

  constructor(options: EngineStateOptions = {}) {
    this.#anomalyCapacity = options.anomalyCapacity ?? 10_000;
    this.#lastRows = options.lastRows ?? true;
    this.#lastReadings = options.lastReadings ?? true;
    this.#alarms = new ActiveAlarms({ capacity: options.alarmCapacity });
  }

  /** Installs the controller `POST /status` goes through. */
  setController(controller: MachineController | null): void {
    this.#controller = controller;
  }

  /** Every known machine, sorted by id. */
  machines(): MachineView[] {
    return [...this.#machines.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One machine, or `undefined`. */
  machine(id: string): MachineView | undefined {
    return this.#machines.get(id);
  }

  /** The id used when a request names no machine: `m1` if known, else the first known. */
  defaultMachine(): string | undefined {
    if (this.#machines.has("m1")) return "m1";
    return this.machines()[0]?.id;
  }

  #view(id: string): MachineEntry {
    let view = this.#machines.get(id);
    if (!view) {
      view = {
        id,
        status: null,
        lastReading: null,
        lastRow: null,
        latest: -Infinity,
        batch: 0,
        lastIndex: 0,
        next: undefined,
      };
      // Not enumerable: the API is handed these objects, and `next` links them in a ring
      // (m1 → … → m1), which `JSON.stringify` of one would otherwise follow and refuse.
      Object.defineProperty(view, "next", { enumerable: false, writable: true });
      this.#machines.set(id, view);
    }
    return view;
  }

  /**
   * Records accepted readings (the latest arrival per machine is its `lastReading`). A reading
   * older than its machine's latest event time is counted in `totals.out_of_order`, one at
   * exactly that time in `totals.duplicate_timestamp`; both are processed as they come. Returns
   * the first such reading of each machine, once per machine (at most
   * {@linkcode MAX_ORDER_NOTICES} machines), and the first reading of each status word the
   * detectors do not know (at most {@linkcode MAX_STATUS_NOTICES} words), for a warning.
   */
  recordReadings(readings: readonly Reading[]): ReadingNotice[] {
    let notices: ReadingNotice[] | null = null;
    // Indexed, not `for…of`: called once a batch, this may run unoptimized, where `for…of`
    // allocates an iterator result per reading.
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const view = this.#view(r.machine);
      if (this.#lastReadings) view.lastReading = r;
      notices = this.#observe(view, r.status, r.timestamp, notices);
    }
    this.totals.readings += readings.length;
    return notices ?? [];
  }

  /**
   * {@linkcode EngineState.recordReadings} of readings given as columns: a machine's
   * `lastReading` is built from them once a batch, for its last reading in the batch (none
   * without `lastReadings`).
   */
  recordColumns(columns: ReadingColumns): ReadingNotice[] {
    let notices: ReadingNotice[] | null = null;
    const batch = ++this.#batches;
    const touched = this.#touched;
    const keep = this.#lastReadings;
    // Readings come machine after machine in the same order tick after tick, as in the
    // analyzer: the machine that followed the last one's last time is tried before the map.
    let previous: MachineEntry | null = null;
    for (let i = 0; i < columns.length; i++) {
      const id = columns.machine[i]!;
      let view: MachineEntry | undefined = previous === null ? undefined : previous.next;
      if (view === undefined || view.id !== id) {
        view = this.#view(id);
        if (previous !== null) previous.next = view;
      }
      previous = view;
      if (keep) {
        if (view.batch !== batch) {
          view.batch = batch;
          touched.push(view);
        }
        view.lastIndex = i;
      }
      notices = this.#observe(view, columns.status[i] ?? null, columns.time[i]!, notices);
    }
    for (let k = 0; k < touched.length; k++) {
      const view = touched[k]!;
      view.lastReading = columns.reading(view.lastIndex);
    }
    touched.length = 0;
    this.totals.readings += columns.length;
    return notices ?? [];
  }

  /** A reading of `view`'s machine with `status` at event time `t`: its status, and the order
   * counters; returns `notices` with what it adds to them. */
  #observe(
    view: MachineEntry,
    status: string | null,
    t: number,
    notices: ReadingNotice[] | null,
  ): ReadingNotice[] | null {
    if (status !== null && status !== view.status) {
      // Only at a change: a status holds for many readings.
      if (
        !isKnownStatus(status) && !this.#unknownStatuses.has(status) &&
        this.#unknownStatuses.size < MAX_STATUS_NOTICES
      ) {
        this.#unknownStatuses.add(status);
        (notices ??= []).push({ machine: view.id, kind: "unknown_status", status });
      }
      view.status = status;
    }
    if (t > view.latest) {
      view.latest = t;
      return notices;
    }
    const kind = t === view.latest ? "duplicate_timestamp" : "out_of_order";
    this.totals[kind]++;
    if (!this.#warned.has(view.id) && this.#warned.size < MAX_ORDER_NOTICES) {
      this.#warned.add(view.id);
      (notices ??= []).push({ machine: view.id, kind, timestamp: t, latest: view.latest });
    }
    return notices;
  }

  /** Records a processed row. */
  recordRow(row: ProcessedRow): void {
    this.#view(row.machine).lastRow = row;
    this.totals.rows++;
  }

  /** Records a batch's processed rows: counted, and (unless `lastRows` is off) the last of
   * each machine kept as its `lastRow`. */
  recordRows(rows: RowTable): void {
    if (this.#lastRows) {
      // From the last row back, a row object for each machine's last only, where one was built
      // per row: that saves the objects of a batch with several rows of a machine (a live
      // flood of 1,000 machines has about one, so not there). (`batch` marks a machine done;
      // each call takes a number of its own, as recordColumns does.)
      const mark = ++this.#batches;
      for (let i = rows.length - 1; i >= 0; i--) {
        const view = this.#view(rows.machine[i]!);
        if (view.batch === mark) continue;
        view.batch = mark;
        view.lastRow = rows.row(i);
      }
    }
    this.totals.rows += rows.length;
  }

  /** Records anomaly events, keeping the newest `anomalyCapacity`, and applies them to the
   * active alarms (unless `options.alarms` is false). */
  recordAnomalies(events: readonly AnomalyEvent[], options: RecordAnomaliesOptions = {}): void {
    if (events.length === 0) return;
    // Indexed, not `for…of`: called once a batch, this may run unoptimized (see recordReadings).
    if (options.alarms ?? true) {
      for (let i = 0; i < events.length; i++) this.#alarms.observe(events[i]!);
    }
    // Without a list (replay, eval) nothing is copied in only to be spliced out again.
    if (this.#anomalyCapacity > 0) {
      this.#anomalies.push(...events);
      const excess = this.#anomalies.length - this.#anomalyCapacity;
      if (excess > 0) this.#anomalies.splice(0, excess);
    }
    this.totals.anomalies += events.length;
  }

  /** Counts rejected input (parser errors). */
  recordErrors(n: number): void {
    this.totals.errors += n;
  }

  /**
   * Adds to the error and anomaly totals what a restart's re-run of history cannot count again
   * (the checkpoint's counts less the re-run's; either can be negative): the events themselves
   * are not added to the anomaly list.
   */
  carryCounts(delta: { errors: number; anomalies: number }): void {
    this.totals.errors += delta.errors;
    this.totals.anomalies += delta.anomalies;
  }

  /** Anomaly events matching `filter`, newest last. */
  anomalies(filter: AnomalyFilter = {}): AnomalyEvent[] {
    const limit = filter.limit ?? 100;
    const out: AnomalyEvent[] = [];
    for (let i = this.#anomalies.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#anomalies[i]!;
      if (filter.machine !== undefined && e.machine !== filter.machine) continue;
      if (filter.severity !== undefined && e.severity !== filter.severity) continue;
      if (filter.type !== undefined && e.type !== filter.type) continue;
      if (filter.since !== undefined && Date.parse(e.timestamp) < filter.since) continue;
      out.push(e);
    }
    return out.reverse();
  }

  /**
   * Applies events to the active alarms only, not to the anomaly list or totals: a restart's
   * rebuild from the `anomalies.jsonl` the previous run wrote.
   */
  restoreAlarms(events: readonly AnomalyEvent[]): void {
    for (const e of events) this.#alarms.observe(e);
  }

  /** The active alarms matching `filter`, CRITICAL first, then longest active first. */
  alarms(filter: ActiveAlarmFilter = {}): ActiveAlarm[] {
    return this.#alarms.list(filter);
  }

  /** Active alarms evicted to stay within `alarmCapacity` since start. */
  get alarmsEvicted(): number {
    return this.#alarms.evicted;
  }

  /** Updates (or adds) a source's health entry. */
  setSource(health: SourceHealth): void {
    this.#sources.set(health.name, { ...health });
  }

  /**
   * Changes a source's state (and detail) keeping its counts; a source not registered yet is
   * registered with zero counts.
   */
  setSourceState(name: string, sourceState: SourceHealth["state"], detail?: string): void {
    const s = this.#sources.get(name);
    this.#sources.set(name, {
      name,
      state: sourceState,
      readings: s?.readings ?? 0,
      errors: s?.errors ?? 0,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** Adds to a source's reading and error counts. */
  countSource(name: string, readings: number, errors: number): void {
    const s = this.#sources.get(name);
    if (!s) return;
    s.readings += readings;
    s.errors += errors;
  }

  /** Every source's health. */
  sources(): SourceHealth[] {
    return [...this.#sources.values()];
  }

  /**
   * Changes a machine's status through its controller, after checking the transition table.
   * Resolves with the reading taken after the change. Throws {@linkcode UnknownMachineError},
   * `StatusTransitionError` or {@linkcode NotControllableError}; state is unchanged on a throw.
   */
  async setStatus(machine: string, status: MachineStatus): Promise<Reading> {
    const view = this.#machines.get(machine);
    if (!view) throw new UnknownMachineError(machine);
    // A machine nothing can command gets that answer first, whatever its status.
    if (!this.#controller?.controls(machine)) throw new NotControllableError(machine);
    assertTransition(view.status ?? "UNKNOWN", status);
    const reading = await this.#controller.setStatus(machine, status);
    view.status = reading.status;
    view.lastReading = reading;
    return reading;
  }
}
