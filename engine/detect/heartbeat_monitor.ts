/**
 * Heartbeat detection: `HEARTBEAT_LOSS` when a machine sends nothing for the timeout,
 * `HEARTBEAT_RESTORED` at its next reading. A pure core, fed with reading times and "now", so
 * that a replay (event-time gaps) and a live run (a timer calling {@linkcode HeartbeatMonitor.check})
 * raise the same events with the same timestamps.
 *
 * The timeout is either fixed (`timeoutMs`, the `device` profile's 5 s of the seed) or learned
 * per machine (`"auto"`, the default of the other profiles): like the adaptive detector's
 * statistics it is learned over the machine's first readings (`learnIntervals` gaps between
 * readings, the detector's warm-up) and is then `max(intervalMultiple × median gap,
 * longestMultiple × longest gap, minTimeoutMs)`. So a machine that reports every second is lost
 * after 10 s of silence, one that reports hourly after 10 h, and one whose gaps already reached a
 * night while it was learned is lost only after four nights: 400 gaps show only the start of a
 * heavy-tailed gap distribution (traffic sensors, keystroke counters), and a silence a few times
 * the longest of them is what no such stream shows by itself. It is what Datadog's "notify if data is missing" and Prometheus'
 * `absent_over_time()` ask the user to set by hand, set from the data: see docs/detector.md.
 *
 * The file passes 400 lines and stays whole: the clock's fast path, its rare paths, the learning
 * and `warmUp` (which takes a throw-away monitor through every one of those paths when the module
 * loads, for V8) read and write the same `Beat` fields; apart, each would have to export them.
 * The slots of the learning machines' gaps are `_slot_pool.ts`.
 * @module
 */
import type { AnalysisResult } from "../core/analysis.ts";
import type { AnomalyEvent } from "../core/types.ts";
import { SlotPool } from "./_slot_pool.ts";

/** Gaps unlike its first a learning machine (`"auto"`) keeps in a small slot, at most, before
 * all its gaps go to a full one. */
const FIRST_GAPS = 16;

/** Options of {@linkcode HeartbeatMonitor}. */
export interface HeartbeatMonitorOptions {
  /** Silence, in ms, after which a machine is lost, or `"auto"`: learned per machine (see the
   * module's text). @default {5000} */
  timeoutMs?: number | "auto";
  /** `"auto"`: gaps between readings (those > 0 ms) the timeout is learned from; no loss is
   * raised before. A machine whose gaps differ from its first more than 16 times holds a slot
   * of this many numbers until it has learned (one at a fixed cadence holds none).
   * @default {400} (the adaptive detector's warm-up) */
  learnIntervals?: number;
  /** `"auto"`: the timeout is at least this many median gaps. @default {10} */
  intervalMultiple?: number;
  /** `"auto"`: the timeout is at least this many times the longest learned gap. @default {4} */
  longestMultiple?: number;
  /** `"auto"`: the timeout is at least this long, ms, so that a fast machine (50 readings a
   * second: 10 gaps are 0.2 s) is not lost whenever the live pipeline pauses for a moment.
   * @default {2000} */
  minTimeoutMs?: number;
  /** Machines tracked at most; readings of further machines are not watched, so arbitrary
   * machine ids on the wire cannot grow memory without limit. @default {10000} */
  maxMachines?: number;
}

/** What most readings raise: nothing (frozen, so that no caller can add to the shared array). */
const NO_EVENTS: readonly AnomalyEvent[] = Object.freeze([]);

/** `Beat.until` of a machine that learns no more: the largest Smi on every platform (V8 keeps
 * the field a small integer), never reached by `at`. */
const NEVER = 2 ** 30 - 1;

/** An event and the index of the reading that raised it: what
 * {@linkcode HeartbeatMonitor.observeInto} appends to (the analyzer's `events`). */
export type IndexedEvent = AnalysisResult["events"][number];

/** One watched machine's clock: what {@linkcode HeartbeatMonitor.track} gives a caller that
 * keeps it per machine, for {@linkcode HeartbeatMonitor.observeInto}. */
export interface Beat {
  /** Event time of the latest reading, epoch ms. */
  last: number;
  /** A loss was raised and no reading came since. */
  lost: boolean;
  /** This machine's timeout, ms; NaN while it is being learned (`"auto"`). */
  timeout: number;
  /** `"auto"` while learning, once its gaps differ: the page of the monitor's slots that holds
   * this machine's slot, whose entries `base … at-1` are the gaps seen so far; else null. */
  gaps: Float64Array | null;
  /** The slot's first entry (in `gaps`, or in `extra`), where the next gap goes in `gaps`, and
   * the slot's end. While learning without `gaps`, `at` counts the gaps equal to `same`. */
  base: number;
  at: number;
  end: number;
  /** The slot's id in its pool (see `SlotPool`); -1: none. */
  slot: number;
  /** `"auto"` while learning without `gaps`: the first gap (NaN before it), and its repeats
   * are counted in `at`, not stored; the gaps unlike it, up to a slot's worth, are entries
   * `base … x-1` of `extra` (null before the first); past that, all go to `gaps`. Else NaN and
   * null. So a machine that reports at a fixed cadence, with a missed reading now and then,
   * learns with no slot or a small one: the first writes to the fresh memory of slots were most
   * of the cost of learning (~20–40 µs per 4 KiB page here). */
  same: number;
  extra: Float64Array | null;
  x: number;
  /** While `at` is below it, a reading that finds no loss takes the short path (stores or
   * counts its gap, if learning, without filling the slot or completing the gaps): the slot's
   * last entry, or `learnIntervals - 1` without a slot, while learning; then
   * {@linkcode NEVER}. */
  until: number;
}

/** A clock of a machine first seen at `last`, with no slot. The one place clocks are made, so
 * that they share one V8 shape (see `warmUp`). */
function clock(last: number, timeout: number, until: number): Beat {
  return {
    last,
    lost: false,
    timeout,
    gaps: null,
    base: 0,
    at: 0,
    end: 0,
    slot: -1,
    same: NaN,
    extra: null,
    x: 0,
    until,
  };
}

/**
 * Tracks each machine's latest reading time. The loss event's timestamp is always the last
 * reading's time plus the timeout, whether a timer or the next reading found the gap, so live
 * and replayed runs write identical events.
 */
export class HeartbeatMonitor {
  /** The fixed timeout, ms, or `"auto"`. */
  readonly timeoutMs: number | "auto";
  readonly #max: number;
  readonly #learn: number;
  readonly #multiple: number;
  readonly #longestMultiple: number;
  readonly #minTimeout: number;
  readonly #beats = new Map<string, Beat>();
  /** `"auto"`: the slots of learning machines' gaps: {@linkcode FIRST_GAPS} each for the gaps
   * unlike a machine's first (null when `learnIntervals` is no more), and `learnIntervals` each
   * for a machine with more of those. */
  readonly #small: SlotPool | null;
  readonly #full: SlotPool;
  /** Losses a previous run already wrote: machine → the last reading time the loss is for. */
  readonly #written = new Map<string, number>();

  constructor(options: HeartbeatMonitorOptions = {}) {
    const timeout = options.timeoutMs ?? 5000;
    if (timeout !== "auto" && (!(timeout > 0) || !Number.isFinite(timeout))) {
      throw new RangeError(
        `heartbeat timeout must be a finite number of ms > 0 or "auto", got ${timeout}`,
      );
    }
    const learn = options.learnIntervals ?? 400;
    if (!Number.isInteger(learn) || learn < 1 || learn > 100_000) {
      throw new RangeError(`learnIntervals must be an integer in 1..100000, got ${learn}`);
    }
    const multiple = options.intervalMultiple ?? 10;
    if (!(multiple >= 1) || !Number.isFinite(multiple)) {
      throw new RangeError(`intervalMultiple must be a finite number >= 1, got ${multiple}`);
    }
    const longestMultiple = options.longestMultiple ?? 4;
    if (!(longestMultiple >= 1) || !Number.isFinite(longestMultiple)) {
      throw new RangeError(
        `longestMultiple must be a finite number >= 1, got ${longestMultiple}`,
      );
    }
    this.#longestMultiple = longestMultiple;
    const minTimeout = options.minTimeoutMs ?? 2000;
    if (!(minTimeout >= 0) || !Number.isFinite(minTimeout)) {
      throw new RangeError(`minTimeoutMs must be a finite number >= 0, got ${minTimeout}`);
    }
    this.#learn = learn;
    this.#small = learn > FIRST_GAPS ? new SlotPool(FIRST_GAPS) : null;
    this.#full = new SlotPool(learn);
    this.#multiple = multiple;
    this.#minTimeout = minTimeout;
    const max = options.maxMachines ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxMachines must be an integer >= 1, got ${max}`);
    }
    this.timeoutMs = timeout;
    this.#max = max;
  }

  /** Machines currently lost. */
  get lost(): string[] {
    return [...this.#beats].filter(([, b]) => b.lost).map(([m]) => m);
  }

  /** The machines lost now, each with the time of the last reading before its loss: what a
   * checkpoint keeps, for {@linkcode HeartbeatMonitor.resume}. */
  lostSince(): Record<string, number> {
    const out: Record<string, number> = {};
    // `forEach`, not `for…of`: the pipeline asks once per batch, and an entry array and an
    // iterator result per watched machine were ~13 MB of a 1 M replay's garbage.
    this.#beats.forEach((beat, machine) => {
      if (beat.lost) out[machine] = beat.last;
    });
    return out;
  }

  /**
   * After a restart: the losses the previous run had written (from its checkpoint). Raising
   * one of them again (same machine, same last reading) marks the machine lost without an
   * event, so a loss a timer raised before the restart is not written twice.
   */
  resume(lost: Readonly<Record<string, number>>): void {
    for (const [machine, last] of Object.entries(lost)) {
      if (this.#written.size >= this.#max) break;
      this.#written.set(machine, last);
    }
  }

  /**
   * A reading of `machine` at event time `time` (epoch ms): a loss when the gap since the
   * previous reading exceeds the timeout and no timer raised it yet, then the restore. Nearly
   * every reading raises nothing: then the answer is one shared empty array, not a new one.
   */
  observe(machine: string, time: number): readonly AnomalyEvent[] {
    const beat = this.#beats.get(machine);
    if (!beat) {
      this.track(machine, time);
      return NO_EVENTS;
    }
    return this.observeBeat(beat, machine, time);
  }

  /**
   * The first reading of `machine`, at `time`: starts watching it and returns its clock, which
   * the caller passes to {@linkcode HeartbeatMonitor.observeInto} (or `observeBeat`) with each
   * further reading instead of calling `observe` (no lookup by name per reading). Null when
   * `maxMachines` are watched already: this machine is never watched (none is ever dropped).
   */
  track(machine: string, time: number): Beat | null {
    let beat = this.#beats.get(machine);
    if (!beat && this.#beats.size < this.#max) {
      const auto = this.timeoutMs === "auto";
      beat = auto
        ? clock(time, NaN, this.#learn - 1)
        : clock(time, this.timeoutMs as number, NEVER);
      this.#beats.set(machine, beat);
    }
    return beat ?? null;
  }

  /** {@linkcode HeartbeatMonitor.observe} of a reading of a machine whose clock the caller
   * kept from {@linkcode HeartbeatMonitor.track}. */
  observeBeat(beat: Beat, machine: string, time: number): readonly AnomalyEvent[] {
    const found: IndexedEvent[] = this.#found;
    this.observeInto(beat, machine, time, found, 0);
    if (found.length === 0) return NO_EVENTS;
    const events = found.map((f) => f.event);
    found.length = 0;
    return events;
  }

  /** What `observeBeat` has `observeInto` append to: empty between calls. */
  readonly #found: IndexedEvent[] = [];

  /**
   * {@linkcode HeartbeatMonitor.observeBeat} appending its events, if any, to `events` with the
   * reading's `index`: what the analyzer calls per reading.
   *
   * For V8, this is small enough to be inlined in the analyzer's walk (a number passed to a call
   * that is not inlined is boxed, and the analyzer's times come unboxed from columns), and all
   * that is rare (a loss, a restore, a full slot, the learning) is one call, `#rare`, which
   * `warmUp` has made before anything is compiled: so a loss first met late in a run does not
   * throw away the walk's compiled code.
   */
  observeInto(
    beat: Beat,
    machine: string,
    time: number,
    events: IndexedEvent[],
    index: number,
  ): void {
    const gap = time - beat.last;
    // NaN (still learning) compares false: no loss before the timeout is known.
    if (beat.at < beat.until && !(beat.lost || gap > beat.timeout)) {
      // The clock moves forward only: out-of-order readings never move it back.
      if (time > beat.last) {
        const gaps = beat.gaps;
        // `until` is below the slot's last entry: this gap does not fill it.
        if (gaps !== null) gaps[beat.at++] = gap;
        else if (beat.until !== NEVER) {
          // Learning without a slot: one more of the same gap, or (rare) a first different one.
          if (gap !== beat.same) return this.#rare(beat, machine, time, gap, events, index);
          beat.at++;
        }
        beat.last = time;
      }
    } else this.#rare(beat, machine, time, gap, events, index);
  }

  /** `observeInto` of a reading that finds a loss or ends one, fills the gap buffer, or is the
   * clock's first. */
  #rare(
    beat: Beat,
    machine: string,
    time: number,
    gap: number,
    events: IndexedEvent[],
    index: number,
  ): void {
    if (beat.lost || gap > beat.timeout) {
      if (!beat.lost) {
        const loss = this.#loss(machine, beat);
        if (loss !== null) events.push({ index, event: loss });
      }
      beat.lost = false;
      events.push({
        index,
        event: {
          timestamp: new Date(time).toISOString(),
          machine,
          type: "HEARTBEAT_RESTORED",
          severity: "INFO",
          channel: null,
          value: Math.round(gap) / 1000,
          threshold: beat.timeout / 1000,
          description: `Data received again after ${(gap / 1000).toFixed(1)} seconds.`,
        },
      });
    }
    if (time > beat.last) {
      const gaps = beat.gaps;
      if (gaps !== null) {
        gaps[beat.at++] = gap;
        // `gaps` is a full slot: full at the last gap to learn.
        if (beat.at === beat.end) this.#learnGaps(beat, gaps);
      } else if (beat.until !== NEVER) {
        if (beat.at === 0 || gap === beat.same) {
          beat.same = gap;
          beat.at++;
        } else this.#unlike(beat, gap);
        if (beat.gaps === null && beat.until !== NEVER) {
          // Still without `gaps`: learned at the last gap; the short path counts until then.
          const count = beat.at + (beat.extra === null ? 0 : beat.x - beat.base);
          if (count === this.#learn) this.#learnSame(beat);
          else beat.until = beat.at + this.#learn - 1 - count;
        }
      }
      beat.last = time;
    }
  }

  /** `"auto"`: a machine learning without `gaps` met a gap unlike its first: kept in `extra`
   * (a slot lent at the first), or, when that is full, every gap so far goes to a full slot. */
  #unlike(beat: Beat, gap: number): void {
    let extra = beat.extra;
    if (extra === null) {
      extra = beat.extra = (this.#small ?? this.#full).lend(beat);
      beat.x = beat.base;
    }
    if (beat.x < beat.end) {
      extra[beat.x++] = gap;
      return;
    }
    // Only a small slot fills up: a full one holds every gap but the first.
    const from = beat.base, to = beat.x, same = beat.same, n = beat.at;
    this.#small!.giveBack(beat);
    beat.extra = null;
    beat.same = NaN;
    const gaps = beat.gaps = this.#full.lend(beat);
    let at = beat.base;
    for (let i = 0; i < n; i++) gaps[at++] = same;
    for (let i = from; i < to; i++) gaps[at++] = extra[i]!;
    gaps[at++] = gap;
    beat.at = at;
    beat.until = beat.end - 1;
    if (at === beat.end) this.#learnGaps(beat, gaps);
  }

  /** `"auto"`: the last gap to learn of a machine without `gaps`: its timeout, from the gaps
   * like its first (`at` of them) and the few unlike it, the median and the longest as a sort of
   * all would give them. */
  #learnSame(beat: Beat): void {
    const same = beat.same, n = beat.at, extra = beat.extra;
    let median = same, longest = same;
    if (extra !== null) {
      // The unlike gaps (a small slot's worth at most) sorted in place, by insertion.
      const from = beat.base, to = beat.x;
      for (let i = from + 1; i < to; i++) {
        const v = extra[i]!;
        let j = i - 1;
        while (j >= from && extra[j]! > v) {
          extra[j + 1] = extra[j]!;
          j--;
        }
        extra[j + 1] = v;
      }
      // The k-th smallest: among those below `same`, `same` itself, or among those above.
      let below = from;
      while (below < to && extra[below]! < same) below++;
      const k = (n + to - from) >> 1;
      if (k < below - from) median = extra[from + k]!;
      else if (k >= below - from + n) median = extra[from + k - n]!;
      if (to > from && extra[to - 1]! > longest) longest = extra[to - 1]!;
      (this.#small ?? this.#full).giveBack(beat);
      beat.extra = null;
    }
    beat.timeout = Math.max(
      this.#multiple * median,
      this.#longestMultiple * longest,
      this.#minTimeout,
    );
    beat.same = NaN;
    beat.at = 0;
    beat.until = NEVER;
  }

  /** `"auto"`: a machine's last gap to learn: its timeout, and its slot given back. */
  #learnGaps(beat: Beat, gaps: Float64Array): void {
    // The median and the longest, as a sort would give them (gaps are > 0: no NaN, no -0),
    // without sorting (measured: BENCHMARKS.md, issue 14).
    const from = beat.base, to = beat.at;
    const median = select(gaps, from, to - 1, from + ((to - from) >> 1));
    let longest = gaps[from]!;
    for (let i = from + 1; i < to; i++) if (gaps[i]! > longest) longest = gaps[i]!;
    beat.timeout = Math.max(
      this.#multiple * median,
      this.#longestMultiple * longest,
      this.#minTimeout,
    );
    this.#full.giveBack(beat);
    beat.gaps = null;
    beat.until = NEVER;
    beat.base = beat.at = beat.end = 0;
  }

  /** Losses of every machine silent for more than the timeout at `now` (epoch ms). */
  check(now: number): AnomalyEvent[] {
    const events: AnomalyEvent[] = [];
    for (const [machine, beat] of this.#beats) {
      if (!beat.lost && now - beat.last > beat.timeout) {
        const loss = this.#loss(machine, beat);
        if (loss !== null) events.push(loss);
      }
    }
    return events;
  }

  /** `machine` is lost: its event, or null when a previous run wrote it already. */
  #loss(machine: string, beat: Beat): AnomalyEvent | null {
    beat.lost = true;
    const written = this.#written.get(machine);
    if (written !== undefined) {
      // An earlier gap re-read from history is not the one written; a later one is new.
      if (written === beat.last) {
        this.#written.delete(machine);
        return null;
      }
      if (beat.last > written) this.#written.delete(machine);
    }
    const seconds = (beat.timeout / 1000).toFixed(1);
    return {
      timestamp: new Date(beat.last + beat.timeout).toISOString(),
      machine,
      type: "HEARTBEAT_LOSS",
      severity: "CRITICAL",
      channel: null,
      value: null,
      threshold: beat.timeout / 1000,
      description: this.timeoutMs === "auto"
        ? `No data received for ${seconds} seconds, longer than this machine's learned ` +
          `timeout. Machine may be offline.`
        : `No data received for ${seconds} seconds. Device may be offline.`,
    };
  }
}

/**
 * The `k`-th smallest of `values[from … to]` (what `values.subarray(from, to + 1).sort()[k -
 * from]` holds), found by partitioning in place (Hoare's selection), which reorders that range.
 */
function select(values: Float64Array, from: number, to: number, k: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

// For V8, before anything is compiled: a throw-away monitor taken through every path a run of
// the default `learnIntervals` takes, the rare ones too, with the kinds of values a run gives them
// (see `warmUp`; `resume` and a `learnIntervals` of 16 or less are left out: harmless).
warmUp();

/**
 * Machines of a throw-away monitor, fed through every path of the clock: learning at a fixed
 * cadence (no slot), in a small slot and in a full one (varied gaps, so that `select` takes each
 * of its branches; the first unlike gap met early and late), repeated and out-of-order times, a
 * loss and a restore, and a timer's loss. Code compiled later has feedback for all of it:
 * before, each path was first met mid-run (the growths, then the first learned timeout at 40 %
 * of a 1 M replay, the first loss at 85 %) and each threw compiled code away, the analyzer's
 * walk with it. And the clock's fields, written again here, are no longer taken as constants
 * (a field written only where its object is made is, and the first learned timeout threw away
 * code that relied on it).
 */
function warmUp(): void {
  const learn = 2 * FIRST_GAPS;
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: learn });
  const events: IndexedEvent[] = [];
  // Nine machines of each kind: V8 collects no feedback for a function until it has been called
  // 8 times. Kind 0: a fixed cadence; 1: unlike gaps from the 5th (past a small slot); 2: from
  // the 20th. (Importing this module takes 7–9 ms with it, against under 1 ms without, the
  // first formatting of dates among it: measured in review, 5 alternated rounds.)
  for (let m = 0; m < 27; m++) {
    const machine = `warm-up ${m}`, alike = [learn, 4, 19][m % 3]!;
    // Epoch ms with a fraction: `last` and `timeout` are doubles from the first clock on.
    let time = 1.5e12 + 0.5;
    const beat = hb.track(machine, time)!;
    for (let i = 0; i < learn; i++) {
      time += 1000.25 + (i < alike ? 0 : ((i * 7919 + m * 104729) % 13) * 97.5);
      hb.observeInto(beat, machine, time, events, i);
    }
    hb.observeInto(beat, machine, time, events, 0);
    hb.observeInto(beat, machine, time - 1, events, 0);
    hb.observeInto(beat, machine, time + 1e9, events, 0);
  }
  hb.check(1.5e12 + 4e9);
  hb.lostSince();
}
