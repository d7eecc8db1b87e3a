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
