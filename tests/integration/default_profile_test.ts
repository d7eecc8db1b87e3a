/**
 * Without `--profile`, a recorded file of channels the `machine` profile does not know runs the
 * `generic` profile and says so; a machine-like file still runs `machine`; a given profile wins.
 * Real `replay` processes on small files written here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runVigil } from "../helpers.ts";
import { FILES } from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

/** `rows` lines of `header`, one reading a minute, from `cells(i)`. */
async function writeCsv(
  path: string,
  header: string,
  rows: number,
  cells: (i: number) => string,
): Promise<string> {
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    // NAB's time form: naive, a space between date and time.
    const t = new Date(T0 + i * 60_000).toISOString().slice(0, 19).replace("T", " ");
    lines.push(`${t},${cells(i)}`);
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** Replays `input` into `dir`; the summary, stderr, the processor log and the events. */
async function replay(input: string, dir: string, flags: string[] = []) {
  const out = await runVigil(["replay", input, "--data-dir", dir, ...flags], {
    perms: ["--allow-read", `--allow-write=${dir}`],
  });
  assert.equal(out.code, 0, out.stderr);
  const summary = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  const log = await Deno.readTextFile(join(dir, "logs", "processor.log"));
  const events = (await Deno.readTextFile(join(dir, FILES.anomalies))).trim().split("\n")
    .filter((l) => l !== "").map((l) => JSON.parse(l));
  return { summary, stderr: out.stderr, log, events };
}

/** The `profile` of the run's "starting fresh" log line. */
function startedProfile(log: string): string {
  const line = log.split("\n").find((l) => l.includes("starting fresh"));
  assert.ok(line, log);
  return JSON.parse(line).profile;
}

Deno.test("a NAB-like file (timestamp,value) runs generic and says so once", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await writeCsv(
      join(tmp, "nab_like.csv"),
      "timestamp,value",
      600,
      (i) => String(i === 500 ? 900 : 50 + (i % 7)),
    );
    const run = await replay(input, join(tmp, "out"));
    assert.equal(run.summary.profile, "generic");
    assert.equal(startedProfile(run.log), "generic");
    assert.equal(run.stderr.match(/profile generic/g)?.length, 1, run.stderr);
    assert.match(run.stderr, /channels of .*nab_like\.csv \(value\) are none of the machine/);
    assert.match(run.stderr, /--profile machine forces it/);
    assert.equal(run.log.match(/profile generic:/g)?.length, 1);
    // The adaptive detector watches `value`: the spike is an alarm.
    assert.ok(run.events.some((e) => e.type === "ANOMALY_VALUE"), JSON.stringify(run.events));

    // --profile machine forces the old default: no note.
    const forced = await replay(input, join(tmp, "forced"), ["--profile", "machine"]);
    assert.equal(forced.summary.profile, "machine");
    assert.equal(startedProfile(forced.log), "machine");
    assert.doesNotMatch(forced.stderr + forced.log, /profile generic/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a machine-like file runs machine; --profile generic wins over it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // Temperature leaves the machine profile's alert range (10–40 °C) once.
    const input = await writeCsv(
      join(tmp, "line.csv"),
      "timestamp,machine,status,temperature,speed",
      60,
      (i) => `m1,RUNNING,${i === 30 ? 45 : 25},1500`,
    );
    const run = await replay(input, join(tmp, "out"));
    assert.equal(run.summary.profile, "machine");
    assert.equal(startedProfile(run.log), "machine");
    assert.doesNotMatch(run.stderr + run.log, /profile generic/);
    assert.ok(run.events.some((e) => e.type === "THRESHOLD_BREACH_TEMP"));

    const generic = await replay(input, join(tmp, "generic"), ["--profile", "generic"]);
    assert.equal(generic.summary.profile, "generic");
    // Explicit: no note, and no made-up limit.
    assert.doesNotMatch(generic.stderr, /profile generic/);
    assert.ok(!generic.events.some((e) => e.type === "THRESHOLD_BREACH_TEMP"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
