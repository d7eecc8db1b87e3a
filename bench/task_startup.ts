/**
 * What a user waits for before a task does its work: wall time of `deno task replay` on a small
 * file (1,000 readings) and `deno task score` on the pump fixture (200 records), with an
 * up-to-date build, under two build:wasm tools side by side: "before" (the tool at e3f9911, which
 * compiled every module on every task) and "after" (the tool at HEAD, which skips modules whose
 * stamps match). Runs are interleaved (before, after, before, after, …) so that the shared
 * machine's load drifts onto both alike; the medians are printed.
 *
 * Each tree is a `git archive` of its commit in a temporary directory (both share Deno's cache).
 * Not part of `deno task bench` (each "before" run compiles all four modules: minutes on 2 cores).
 *
 *   deno run -A bench/task_startup.ts [RUNS]   # RUNS per task and tool, default 5
 * @module
 */
import { join } from "node:path";
import { generateReadings } from "../simulator/mod.ts";
import { formatReading } from "../engine/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BEFORE = "e3f9911";
const RUNS = Number(Deno.args[0] ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(
    `task_startup: RUNS must be a positive integer, got ${JSON.stringify(Deno.args[0])}`,
  );
  Deno.exit(2);
}

async function sh(command: string, cwd = ROOT): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", command], cwd, stdout: "null" })
    .output();
  if (out.code !== 0) throw new Error(`task_startup: "${command}" exited ${out.code}`);
}

/** A tree of `rev` in a fresh temporary directory. */
async function checkout(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `vigil-startup-${rev}-` });
  await sh(`git archive ${rev} | tar -x -C ${dir}`);
  return dir;
}

/** Seconds of wall time of `deno task ARGS` in `dir`; throws on a non-zero exit. */
async function timeTask(dir: string, args: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", ...args],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) {
    throw new Error(
      `task_startup: deno task ${args.join(" ")} in ${dir} exited ${out.code}:\n` +
        new TextDecoder().decode(out.stderr),
    );
  }
  return seconds;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const head = new TextDecoder().decode(
  (await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], cwd: ROOT }).output())
    .stdout,
).trim();
const trees = { before: await checkout(BEFORE), after: await checkout("HEAD") };
try {
  const lines = [];
  for (
    const r of generateReadings({
      machines: 10,
      seed: 42,
      count: 1000,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.01,
    })
  ) lines.push(formatReading(r));
  const fixtures = "tests/fixtures/iforest";
  const tasks: Record<string, (run: number) => string[]> = {
    replay: (run) => ["replay", "readings.jsonl", "--data-dir", `./data/run-${run}`],
    score: () => [
      "score",
      "--model",
      `${fixtures}/pump_model.json`,
      "--input",
      `${fixtures}/pump_input.csv`,
    ],
  };
  for (const dir of Object.values(trees)) {
    await Deno.writeTextFile(join(dir, "readings.jsonl"), lines.join("\n") + "\n");
    await Deno.mkdir(join(dir, "data"), { recursive: true });
    // Warm-up: builds "after"'s wasm and stamps, fills Deno's caches for both.
    await timeTask(dir, tasks.score!(0));
  }
  const times: Record<string, number[]> = {};
  for (let run = 1; run <= RUNS; run++) {
    for (const [task, args] of Object.entries(tasks)) {
      for (const [tool, dir] of Object.entries(trees)) {
        (times[`${task} ${tool}`] ??= []).push(await timeTask(dir, args(run)));
      }
    }
    console.error(`task_startup: run ${run}/${RUNS} done`);
  }
  console.log(
    `deno task wall time, median of ${RUNS} interleaved runs (before ${BEFORE}, after ${head})`,
  );
  console.log("| task | before | after | before/after |");
  console.log("| ---- | ------ | ----- | ------------ |");
  for (const task of Object.keys(tasks)) {
    const before = median(times[`${task} before`]!);
    const after = median(times[`${task} after`]!);
    console.log(
      `| ${task} | ${before.toFixed(2)} s | ${after.toFixed(2)} s | ${
        (before / after).toFixed(1)
      }× |`,
    );
  }
  console.log(
    "raw seconds:",
    JSON.stringify(times, (_, v) => typeof v === "number" ? +v.toFixed(2) : v),
  );
} finally {
  for (const dir of Object.values(trees)) await Deno.remove(dir, { recursive: true });
}
