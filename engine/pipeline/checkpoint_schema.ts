/**
 * The schema (zod) that `readCheckpoint` (output_files.ts) validates `checkpoint.json` with. Its
 * own module so that a run that starts fresh, with no checkpoint to read, never loads zod (about
 * 4 MiB of heap with the settings' schema, BENCHMARKS.md "Replay peak RSS, third pass").
 * @module
 */
import { z } from "zod";

/** A count of the checkpoint: what a negative or fractional one would do is undefined (a
 * negative `lines` suppressed nothing on resume, so every output was written twice). */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** `checkpoint.json`'s schema (output_files.ts `Checkpoint`); not strict: a field a later
 * version adds must not make this one refuse the directory. */
export const CHECKPOINT = z.object({
  version: z.literal(1),
  source: z.string().min(1),
  lines: count,
  readings: count,
  rows: count,
  anomalies: count,
  errors: count,
  files: z.record(z.string(), count),
  heartbeat: z.record(z.string(), z.number().refine(Number.isFinite, "must be finite"))
    .optional(),
});
