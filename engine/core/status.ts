/**
 * Machine status transitions, the contract's table: anything not listed is refused.
 * @module
 */
import { MACHINE_STATUSES, type MachineStatus } from "./types.ts";

/** Allowed transitions: from → the statuses it may move to. */
export const TRANSITIONS: Readonly<Record<MachineStatus, readonly MachineStatus[]>> = {
  SHUTDOWN: ["STARTED"],
  STARTED: ["RUNNING", "SHUTDOWN"],
  RUNNING: ["PAUSED", "COMPLETED", "SHUTDOWN"],
  PAUSED: ["RUNNING", "COMPLETED", "SHUTDOWN"],
  COMPLETED: ["STARTED", "SHUTDOWN"],
};

/** Whether `value` names a machine status. */
export function isMachineStatus(value: unknown): value is MachineStatus {
  return typeof value === "string" && (MACHINE_STATUSES as readonly string[]).includes(value);
}

// The device states: NORMAL, OFFLINE, WARNING_<WHAT>, CRITICAL_<WHAT>.
const DEVICE_STATE = /^(?:NORMAL|OFFLINE|(?:WARNING|CRITICAL)_[A-Z0-9][A-Z0-9_]*)$/;

/**
 * Whether Vigil's detectors know `status`: a machine status (`PAUSED` alerts, `RUNNING` is the
 * default `activeStatuses` of speed) or a device state (`NORMAL`, `OFFLINE`, `WARNING_*`,
 * `CRITICAL_*`: the `DEVICE_STATUS` events). Any other well-formed word is kept as it is (a
 * channel's `activeStatuses` may name it) and said once in the log.
 *
 * @example
 * ```ts
 * isKnownStatus("WARNING_TEMP"); // true
 * isKnownStatus("IDLE"); // false
 * ```
 */
export function isKnownStatus(status: string): boolean {
  return isMachineStatus(status) || DEVICE_STATE.test(status);
}

/** Thrown when a status change is not in {@linkcode TRANSITIONS}. */
export class StatusTransitionError extends Error {
  constructor(readonly from: string, readonly to: string) {
    super(`Invalid status transition from ${from} to ${to}`);
    this.name = "StatusTransitionError";
  }
}

/** Throws {@linkcode StatusTransitionError} unless `from → to` is allowed. */
export function assertTransition(from: string, to: MachineStatus): void {
  if (!isMachineStatus(from) || !TRANSITIONS[from].includes(to)) {
    throw new StatusTransitionError(from, to);
  }
}
