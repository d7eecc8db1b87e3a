/**
 * The machine statuses and the contract's transition table, for the status buttons: only the
 * transitions listed here are enabled. A copy of engine/core/status.ts's TRANSITIONS (the browser
 * cannot import the engine's TypeScript); tests/unit/static_test.ts checks that both agree.
 */

/** Every machine status, in the order the buttons show them. */
export const STATUSES = ["STARTED", "RUNNING", "PAUSED", "COMPLETED", "SHUTDOWN"];

/** Allowed transitions: from → the statuses it may move to. */
export const TRANSITIONS = {
  SHUTDOWN: ["STARTED"],
  STARTED: ["RUNNING", "SHUTDOWN"],
  RUNNING: ["PAUSED", "COMPLETED", "SHUTDOWN"],
  PAUSED: ["RUNNING", "COMPLETED", "SHUTDOWN"],
  COMPLETED: ["STARTED", "SHUTDOWN"],
};
