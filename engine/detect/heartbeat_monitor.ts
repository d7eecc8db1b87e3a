/**
 * Heartbeat detection: `HEARTBEAT_LOSS` when a machine sends nothing for the timeout,
 * `HEARTBEAT_RESTORED` at its next reading. A pure core, fed with reading times and "now", so
 * that a replay (event-time gaps) and a live run (a timer calling {@linkcode HeartbeatMonitor.check})
 * raise the same events with the same timestamps.
 * @module
 */
import type { AnomalyEvent } from "../core/types.ts";

/** Options of {@linkcode HeartbeatMonitor}. */
export interface HeartbeatMonitorOptions {
  /** Silence, in ms, after which a machine is lost. @default {5000} */
  timeoutMs?: number;
  /** Machines tracked at most; readings of further machines are not watched, so arbitrary
   * machine ids on the wire cannot grow memory without limit. @default {10000} */
  maxMachines?: number;
}

interface Beat {
  /** Event time of the latest reading, epoch ms. */
  last: number;
  /** A loss was raised and no reading came since. */
  lost: boolean;
}

/**
 * Tracks each machine's latest reading time. The loss event's timestamp is always the last
 * reading's time plus the timeout, whether a timer or the next reading found the gap, so live
 * and replayed runs write identical events.
 */
export class HeartbeatMonitor {
  readonly timeoutMs: number;
  readonly #max: number;
  readonly #beats = new Map<string, Beat>();
  /** Losses a previous run already wrote: machine → the last reading time the loss is for. */
  readonly #written = new Map<string, number>();

  constructor(options: HeartbeatMonitorOptions = {}) {
    const timeout = options.timeoutMs ?? 5000;
    if (!(timeout > 0) || !Number.isFinite(timeout)) {
      throw new RangeError(`heartbeat timeout must be a finite number of ms > 0, got ${timeout}`);
    }
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
    for (const [machine, beat] of this.#beats) if (beat.lost) out[machine] = beat.last;
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
   * previous reading exceeds the timeout and no timer raised it yet, then the restore.
   */
  observe(machine: string, time: number): AnomalyEvent[] {
    const beat = this.#beats.get(machine);
    if (!beat) {
      if (this.#beats.size < this.#max) this.#beats.set(machine, { last: time, lost: false });
      return [];
    }
    const events: AnomalyEvent[] = [];
    const gap = time - beat.last;
    if (!beat.lost && gap > this.timeoutMs) this.#loss(machine, beat, events);
    if (beat.lost) {
      beat.lost = false;
      events.push({
        timestamp: new Date(time).toISOString(),
        machine,
        type: "HEARTBEAT_RESTORED",
        severity: "INFO",
        channel: null,
        value: Math.round(gap) / 1000,
        threshold: this.timeoutMs / 1000,
        description: `Data received again after ${(gap / 1000).toFixed(1)} seconds.`,
      });
    }
    // Out-of-order readings never move the clock back.
    if (time > beat.last) beat.last = time;
    return events;
  }

  /** Losses of every machine silent for more than the timeout at `now` (epoch ms). */
  check(now: number): AnomalyEvent[] {
    const events: AnomalyEvent[] = [];
    for (const [machine, beat] of this.#beats) {
      if (!beat.lost && now - beat.last > this.timeoutMs) this.#loss(machine, beat, events);
    }
    return events;
  }

  #loss(machine: string, beat: Beat, events: AnomalyEvent[]): void {
    beat.lost = true;
    const written = this.#written.get(machine);
    if (written !== undefined) {
      // An earlier gap re-read from history is not the one written; a later one is new.
      if (written === beat.last) {
        this.#written.delete(machine);
        return;
      }
      if (beat.last > written) this.#written.delete(machine);
    }
    const seconds = (this.timeoutMs / 1000).toFixed(1);
    events.push({
      timestamp: new Date(beat.last + this.timeoutMs).toISOString(),
      machine,
      type: "HEARTBEAT_LOSS",
      severity: "CRITICAL",
      channel: null,
      value: null,
      threshold: this.timeoutMs / 1000,
      description: `No data received for ${seconds} seconds. Device may be offline.`,
    });
  }
}
