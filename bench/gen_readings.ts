/**
 * Writes a simulator JSONL file for the replay benchmarks and the byte-identity checks:
 *
 *   deno run -A bench/gen_readings.ts OUT.jsonl [READINGS=1000000] [MACHINES=1000] [BAD_EVERY=0]
 *
 * Seed 42, 2 s between ticks, fault rate 1 % (the input of bench/replay_bench.ts). With
 * BAD_EVERY > 0, every BAD_EVERY-th line is followed by one bad line (a cycle of malformed JSON, a
 * missing field, a non-numeric value), so the parser-error paths are covered too.
 * @module
 */
import { generateReadings } from "../simulator/mod.ts";
import { formatReading, type Reading } from "../engine/mod.ts";

const BAD = [
  "{not json",
  '{"machine_id":"m1","timestamp":"2026-01-01T00:00:00Z"',
  '{"machine_id":"m2","timestamp":"nope","temperature":1}',
  '{"timestamp":"2026-01-01T00:00:00.000Z","temperature":50}',
  '{"machine_id":"m3","timestamp":"2026-01-01T00:00:00.000Z","temperature":"hot"}',
  "",
  "[1,2,3]",
];

/**
 * The benches' workload: `count` simulator readings of `machines` machines, 2 s apart, seed 42,
 * 1 % faults (the same for every bench that generates readings).
 *
 * @example
 * ```ts
 * for (const r of benchReadings(1000, 10)) console.log(r.machine);
 * ```
 */
export function benchReadings(machines: number, count: number): Iterable<Reading> {
  return generateReadings({
    machines,
    seed: 42,
    count,
    start: Date.UTC(2026, 0, 1),
    intervalMs: 2000,
    faultRate: 0.01,
  });
}

/** Streams `count` readings of `machines` machines to `path`, with a bad line every `badEvery`. */
export async function writeReadings(
  path: string,
  count: number,
  machines: number,
  badEvery = 0,
): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let buf: string[] = [];
  let i = 0;
  let bad = 0;
  for (
    const r of benchReadings(machines, count)
  ) {
    buf.push(formatReading(r));
    if (badEvery > 0 && ++i % badEvery === 0) buf.push(BAD[bad++ % BAD.length]!);
    if (buf.length >= 10_000) {
      await file.write(enc.encode(buf.join("\n") + "\n"));
      buf = [];
    }
  }
  if (buf.length) await file.write(enc.encode(buf.join("\n") + "\n"));
  file.close();
}

if (import.meta.main) {
  const [out, count = "1000000", machines = "1000", badEvery = "0"] = Deno.args;
  if (!out) {
    console.error("usage: gen_readings.ts OUT.jsonl [READINGS] [MACHINES] [BAD_EVERY]");
    Deno.exit(2);
  }
  await writeReadings(out, Number(count), Number(machines), Number(badEvery));
}
