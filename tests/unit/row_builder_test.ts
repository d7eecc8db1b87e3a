/**
 * The status summary of a processed row: the analyzer keeps each machine's status window as a
 * ring written in place, so the summary of a ring must be that of the same statuses in order,
 * for the short windows counted without a map and the long ones counted with one.
 */
import assert from "node:assert/strict";
import { statusSummary } from "../../engine/detect/row_builder.ts";

/** `ordered` as the analyzer's ring holds it after `shift` more writes: oldest at `shift`. */
function ring<T>(ordered: readonly T[], shift: number): T[] {
  const n = ordered.length;
  return ordered.map((_, k) => ordered[(k - shift + n) % n]!);
}

Deno.test("statusSummary: the most frequent status, ties to the most recent, and the changes", () => {
  assert.deepEqual(statusSummary(["RUNNING", "IDLE", "IDLE", "RUNNING"]), {
    mode: "RUNNING",
    changes: 2,
  });
  // IDLE reaches two after RUNNING does: the tie goes to IDLE.
  assert.deepEqual(statusSummary(["IDLE", "RUNNING", "RUNNING", "IDLE", null]), {
    mode: "IDLE",
    changes: 3,
  });
  assert.deepEqual(statusSummary([null, null]), { mode: null, changes: 0 });
  assert.deepEqual(statusSummary([]), { mode: null, changes: 0 });
});

Deno.test("statusSummary: a ring gives the summary of its statuses in order, at every start", () => {
  const statuses = ["STARTED", "RUNNING", "RUNNING", "PAUSED", "RUNNING", null, "PAUSED"];
  for (const window of [statuses.slice(0, 5), statuses]) {
    const expected = statusSummary(window);
    for (let shift = 0; shift < window.length; shift++) {
      assert.deepEqual(statusSummary(ring(window, shift), shift), expected, `shift ${shift}`);
    }
  }
});

Deno.test("statusSummary: a long window (counted with a map) agrees with a short one", () => {
  // 40 statuses: beyond the short-window path; the same counts as 8 repeated five times.
  const short = ["A", "B", "B", "C", "A", "B", null, "C"];
  const long = Array.from({ length: 5 }, () => short).flat();
  // Six changes in each repetition, one between repetitions.
  assert.deepEqual(statusSummary(long), { mode: "B", changes: 5 * 6 + 4 });
  assert.deepEqual(statusSummary(ring(long, 13), 13), statusSummary(long));
  // Ties go to the most recent status in the long path too: A and B ten times each.
  const tied = Array.from({ length: 10 }, () => ["A", "B"]).flat();
  assert.deepEqual(statusSummary(tied).mode, "B");
  assert.deepEqual(statusSummary(["B", ...tied.slice(0, -1)]).mode, "A");
});
