/**
 * The learned heartbeat timeout through `vigil replay` (a real file, a real process): a machine
 * that reports every second and then goes quiet for a minute is lost after 10 s of event time
 * under the defaults; `--heartbeat-timeout off`, a fixed timeout and `--detector zscore` (the
 * alarms as before the adaptive detector) behave as documented.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runVigil } from "../helpers.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Readings one second apart for 680 s; m1 is silent from 600 s to 658 s. */
async function writeGapFile(dir: string): Promise<string> {
  const lines: string[] = [];
  const reading = (machine: string, ms: number, i: number) =>
    JSON.stringify({
      timestamp: new Date(T0 + ms).toISOString(),
      machine,
      temperature: 70 + Math.sin(i / 7),
      speed: 1500 + 3 * Math.cos(i / 5),
      status: "RUNNING",
    });
  for (let i = 0; i < 680; i++) {
    if (i < 600 || i >= 659) lines.push(reading("m1", i * 1000, i));
    lines.push(reading("m2", i * 1000, i));
  }
  const path = join(dir, "gap.jsonl");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

async function heartbeatEvents(args: string[], dir: string, input: string) {
  const dataDir = join(dir, `d${Math.random().toString(36).slice(2)}`);
  const out = await runVigil(["replay", input, "--data-dir", dataDir, ...args]);
  assert.equal(out.code, 0, out.stderr);
  const text = await Deno.readTextFile(join(dataDir, "anomalies.jsonl"));
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.type.startsWith("HEARTBEAT_"));
}

Deno.test("replay: a machine silent for 60 s is lost after its learned 10 s, restored at its next reading", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = await writeGapFile(dir);
    const events = await heartbeatEvents([], dir, input);
    // m1's last reading before the silence is at 599 s: lost at 609 s, back at 659 s.
    assert.deepEqual(
      events.map((e) => [e.machine, e.type, e.timestamp, e.threshold]),
      [
        ["m1", "HEARTBEAT_LOSS", new Date(T0 + 609_000).toISOString(), 10],
        ["m1", "HEARTBEAT_RESTORED", new Date(T0 + 659_000).toISOString(), 10],
      ],
    );
    assert.deepEqual(await heartbeatEvents(["--heartbeat-timeout", "off"], dir, input), []);
    assert.deepEqual(await heartbeatEvents(["--detector", "zscore"], dir, input), []);
    // A fixed timeout longer than the silence: nothing; shorter: stamped with it.
    assert.deepEqual(await heartbeatEvents(["--heartbeat-timeout", "90"], dir, input), []);
    const fixed = await heartbeatEvents(["--heartbeat-timeout", "30"], dir, input);
    assert.deepEqual(fixed.map((e) => [e.type, e.timestamp]), [
      ["HEARTBEAT_LOSS", new Date(T0 + 629_000).toISOString()],
      ["HEARTBEAT_RESTORED", new Date(T0 + 659_000).toISOString()],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
