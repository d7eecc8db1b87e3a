/**
 * Incidents through real `replay` processes: every event of the adaptive detector carries its
 * incident; a run resumed from its checkpoint (as after a kill) writes byte for byte what an
 * uninterrupted run writes, incidents included; `--incident-window` and `--detector zscore`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runVigil } from "../helpers.ts";
import { type AnomalyEvent, FILES, formatReading } from "../../engine/mod.ts";
import { generateReadings } from "../../simulator/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

async function replay(input: string, dir: string, flags: string[] = []): Promise<string> {
  const tmp = join(dir, "..");
  const out = await runVigil(["replay", input, "--data-dir", dir, ...flags], {
    perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
  });
  assert.equal(out.code, 0, out.stderr);
  return await Deno.readTextFile(join(dir, FILES.anomalies));
}

const parse = (text: string): AnomalyEvent[] =>
  text.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

Deno.test("replay: incidents group a machine's alarms, and survive a restart byte for byte", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const lines = [
      ...generateReadings({
        machines: 3,
        seed: 3,
        count: 6000,
        start: T0,
        intervalMs: 2000,
        faultRate: 0.05,
      }),
    ].map(formatReading);
    const input = join(tmp, "input.jsonl");
    await Deno.writeTextFile(input, lines.join("\n") + "\n");
    const whole = await replay(input, join(tmp, "whole"));
    const events = parse(whole);

    // Every event has the field, last; raises of one incident are of one machine and the id
    // names the machine and the first raise.
    assert.ok(events.every((e) => Object.keys(e).at(-1) === "incident"));
    const byIncident = Map.groupBy(events, (e) => e.incident);
    assert.ok(!byIncident.has(null), "every clear here ends a known alarm");
    for (const [id, group] of byIncident) {
      assert.ok(group.every((e) => e.machine === group[0]!.machine), id!);
      assert.equal(id, `${group[0]!.machine}@${group[0]!.timestamp}`);
    }
    const multi = [...byIncident.values()].filter((g) =>
      new Set(g.map((e) => e.type + e.channel)).size > 1
    );
    assert.ok(multi.length > 5, `only ${multi.length} incidents hold more than one alarm`);
    assert.ok(byIncident.size > 20, `${byIncident.size} incidents`);

    // A run stopped a third of the way, after its checkpoint, then resumed on the whole file.
    for (const cut of [1500, 4100]) {
      const dir = join(tmp, `cut${cut}`);
      const partial = join(tmp, `partial${cut}.jsonl`);
      await Deno.writeTextFile(partial, lines.slice(0, cut).join("\n") + "\n");
      await replay(partial, dir);
      const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
      cp.source = `file:${input}`;
      await Deno.writeTextFile(join(dir, FILES.checkpoint), JSON.stringify(cp));
      const resumed = await replay(input, dir);
      assert.ok(resumed === whole, `cut at ${cut}: anomalies.jsonl differs`);
    }

    // A window of 0: only alarms raised while another is active join; never fewer incidents.
    const narrow = parse(await replay(input, join(tmp, "narrow"), ["--incident-window", "0"]));
    assert.ok(new Set(narrow.map((e) => e.incident)).size > byIncident.size);
    // zscore: the events as they were, no field.
    const zscore = parse(await replay(input, join(tmp, "zscore"), ["--detector", "zscore"]));
    assert.ok(zscore.length > 0 && zscore.every((e) => !("incident" in e)));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
