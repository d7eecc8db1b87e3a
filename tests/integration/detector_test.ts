/**
 * `--detector` through real `replay` processes: `zscore` reproduces, byte for byte, what the
 * tree before the adaptive detector wrote (tests/fixtures/zscore, recorded at 825f9a3); the
 * default `adaptive` raises no `ZSCORE_*`, and every alarm is a state raised once and cleared
 * once; the `generic` profile puts no limit on any channel.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runVigil } from "../helpers.ts";

const FIXTURES = join(ROOT, "tests/fixtures/zscore");

/**
 * The recorded input: two machines of 1500 readings each (2 s apart), seeded, with temperature
 * spikes every 173 readings (breach, rapid change, z-score), a 60-reading excursion on m2, speed
 * jumps on m1 and an idle phase every 400 readings (speed's checks off).
 */
function zscoreInput(): string {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const T0 = Date.parse("2026-01-05T00:00:00Z");
  const lines: string[] = [];
  for (let i = 0; i < 1500; i++) {
    for (const m of ["m1", "m2"]) {
      const status = i % 400 < 360 ? "RUNNING" : "IDLE";
      let temperature = 25 + 3 * Math.sin(i / 50) + (rnd() - 0.5) * 2;
      let speed = status === "RUNNING" ? 1500 + (rnd() - 0.5) * 100 : 0;
      if (i % 173 === 0 && i > 0) temperature += 25;
      if (m === "m2" && i >= 900 && i < 960) temperature += 12;
      if (m === "m1" && i % 211 === 5) speed += 700;
      lines.push(JSON.stringify({
        timestamp: new Date(T0 + i * 2000).toISOString(),
        machine: m,
        status,
        temperature: Math.round(temperature * 100) / 100,
        speed: Math.round(speed),
      }));
    }
  }
  return lines.join("\n") + "\n";
}

interface Event {
  machine: string;
  type: string;
  severity: string;
  channel: string | null;
  description: string;
}

async function replay(input: string, ...flags: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  const data = join(dir, "data");
  const { code, stderr } = await runVigil(["replay", input, "--data-dir", data, ...flags]);
  assert.equal(code, 0, stderr);
  return data;
}

const events = async (data: string): Promise<Event[]> =>
  (await Deno.readTextFile(join(data, "anomalies.jsonl"))).split("\n").filter((l) => l !== "")
    .map((l) => JSON.parse(l));

Deno.test("--detector zscore: anomalies and rows exactly as before the adaptive detector", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "input.jsonl");
  await Deno.writeTextFile(input, zscoreInput());
  const data = await replay(input, "--detector", "zscore");
  for (const file of ["anomalies.jsonl", "analysis_output.csv"]) {
    assert.equal(
      await Deno.readTextFile(join(data, file)),
      await Deno.readTextFile(join(FIXTURES, `expected_${file}`)),
      file,
    );
  }
  const types = new Set((await events(data)).map((e) => e.type));
  assert.ok(types.has("ZSCORE_TEMP") && types.has("RAPID_CHANGE_SPEED"), [...types].join());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--detector adaptive (default): no ZSCORE_*, every alarm raised once, cleared once", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "input.jsonl");
  await Deno.writeTextFile(input, zscoreInput());
  const list = await events(await replay(input));
  assert.ok(!list.some((e) => e.type.startsWith("ZSCORE_")), "no z-score alarm");
  // Per machine, type and channel, raises and clears alternate, starting with a raise.
  const standing = new Map<string, boolean>();
  for (const e of list) {
    const key = `${e.machine} ${e.type} ${e.channel}`;
    const raise = e.severity !== "INFO";
    assert.notEqual(standing.get(key) ?? false, raise, `${key}: ${e.description}`);
    standing.set(key, raise);
  }
  const types = new Set(list.map((e) => `${e.type} ${e.severity}`));
  for (const t of ["THRESHOLD_BREACH_TEMP CRITICAL", "THRESHOLD_BREACH_TEMP INFO"]) {
    assert.ok(types.has(t), `${t} in ${[...types].join()}`);
  }
  // The spikes after the warm-up (400 readings) are adaptive alarms too.
  assert.ok(list.some((e) => e.type === "ANOMALY_TEMP" && e.severity !== "INFO"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("unknown channels get no machine limits; --profile generic none for any channel", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "data.csv");
  // A constant level then a jump far outside the machine profile's temperature range.
  const rows = ["timestamp,temperature,value"];
  for (let i = 0; i < 600; i++) {
    const v = (i < 500 ? 60 : 95) + (i % 7) / 10;
    rows.push(`${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()},${v},${v}`);
  }
  await Deno.writeTextFile(input, rows.join("\n") + "\n");
  const machine = await events(await replay(input));
  // Under the machine profile `temperature` has its limits; `value` (unknown) has none.
  assert.ok(machine.some((e) => e.type === "THRESHOLD_BREACH_TEMP"));
  assert.ok(!machine.some((e) => e.channel === "value" && !e.type.startsWith("ANOMALY_")));
  assert.ok(machine.some((e) => e.type === "ANOMALY_VALUE" && e.severity !== "INFO"));
  const generic = await events(await replay(input, "--profile", "generic"));
  assert.deepEqual(
    [...new Set(generic.map((e) => e.type))].sort(),
    ["ANOMALY_TEMP", "ANOMALY_VALUE"],
  );
  await Deno.remove(dir, { recursive: true });
});
