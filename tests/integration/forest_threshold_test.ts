/**
 * The calibrated forest alarm through the real commands: `train` writes `alarm_threshold`
 * (`--alarm-quantile`, validated), and `replay --model` on a healthy but noisy stream raises far
 * fewer `ISOLATION_FOREST` alarms with it than the same model without it (the offset rule).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { prng, runVigil } from "../helpers.ts";
import { formatReading, parseModel, type Reading } from "../../engine/mod.ts";

/** A healthy machine with its ordinary noise: nothing here is a fault. */
function noisy(n: number, seed: number): Reading[] {
  const rand = prng(seed);
  const bell = () => rand() + rand() + rand() + rand() - 2;
  return Array.from({ length: n }, (_, i) => ({
    timestamp: Date.UTC(2026, 0, 1) + i * 1000,
    machine: "m1",
    status: "RUNNING",
    channels: { temperature: 25 + bell(), speed: 1500 + 20 * bell(), vibration: 2 + bell() },
  }));
}

/** What `replay --model` raised: `ISOLATION_FOREST` raises, and seconds the alarm stood. */
async function forestAlarms(
  dir: string,
  input: string,
  model: string,
  end: number,
  flags: string[] = [],
): Promise<{ raises: number; seconds: number }> {
  const out = await Deno.makeTempDir({ dir });
  const r = await runVigil(["replay", input, "--model", model, "--data-dir", out, ...flags]);
  assert.equal(r.code, 0, r.stderr);
  const events = (await Deno.readTextFile(join(out, "anomalies.jsonl"))).trim().split("\n")
    .filter((l) => l !== "").map((l) => JSON.parse(l)).filter((e) => e.type === "ISOLATION_FOREST");
  let raises = 0, seconds = 0, since: number | null = null;
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    if (e.severity === "WARNING") {
      raises++;
      since ??= t;
    } else if (since !== null) {
      seconds += (t - since) / 1000;
      since = null;
    }
  }
  if (since !== null) seconds += (end - since) / 1000;
  return { raises, seconds };
}

Deno.test("train writes alarm_threshold; replay on healthy noise: far fewer alarms than the offset rule", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-threshold-" });
  try {
    const training = join(dir, "healthy.jsonl");
    await Deno.writeTextFile(training, noisy(2000, 1).map(formatReading).join("\n") + "\n");
    const train = (out: string, ...flags: string[]) =>
      runVigil(["train", "--input", training, "--out", out, "--seed", "4", ...flags]);
    const calibrated = join(dir, "calibrated.json");
    const tr = await train(calibrated, "--features", "temperature,speed,vibration");
    assert.equal(tr.code, 0, tr.stderr);
    assert.match(tr.stderr, /alarm threshold -0\.\d{4} \(quantile 0\.995\)/);
    const model = parseModel(await Deno.readTextFile(calibrated));
    assert.equal(model.alarm_quantile, 0.995);
    assert.ok(model.alarm_threshold! < 0 && model.alarm_threshold! > -1);
    // The same forest as a scikit-learn export would carry it: no threshold, the offset rule.
    const v1 = join(dir, "offset.json");
    const { alarm_threshold: _t, alarm_quantile: _q, ...rest } = model;
    await Deno.writeTextFile(v1, JSON.stringify(rest));

    // Another stretch of the same healthy machine.
    const live = join(dir, "live.jsonl");
    const stream = noisy(3000, 2);
    await Deno.writeTextFile(live, stream.map(formatReading).join("\n") + "\n");
    const end = stream.at(-1)!.timestamp;
    // Without delays (`--detector zscore`: raised at each start of a run of outliers) the count
    // of raises is the count of outlier runs.
    const zscore = ["--detector", "zscore"];
    const calibratedRaw = await forestAlarms(dir, live, calibrated, end, zscore);
    const offsetRaw = await forestAlarms(dir, live, v1, end, zscore);
    assert.ok(offsetRaw.raises >= 50, `the offset rule raised ${offsetRaw.raises} alarms`);
    assert.ok(
      calibratedRaw.raises * 10 <= offsetRaw.raises,
      `calibrated ${calibratedRaw.raises} alarms, offset rule ${offsetRaw.raises}`,
    );
    // With the default detector's delays (raised at once, cleared after 20 normal readings) the
    // offset rule's alarm hardly ever clears on this healthy machine; the calibrated one mostly
    // stays off.
    const calibratedState = await forestAlarms(dir, live, calibrated, end);
    const offsetState = await forestAlarms(dir, live, v1, end);
    assert.ok(offsetState.seconds > 0.5 * 3000, `offset rule: in alarm ${offsetState.seconds} s`);
    assert.ok(
      calibratedState.seconds * 3 <= offsetState.seconds,
      `in alarm: calibrated ${calibratedState.seconds} s, offset rule ${offsetState.seconds} s`,
    );

    const q99 = join(dir, "q99.json");
    const r99 = await train(q99, "--alarm-quantile", "0.99");
    assert.equal(r99.code, 0, r99.stderr);
    assert.equal(parseModel(await Deno.readTextFile(q99)).alarm_quantile, 0.99);
    for (const bad of ["0", "1.5", "abc", ""]) {
      const r = await train(join(dir, "bad.json"), `--alarm-quantile=${bad}`);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`bad value for --alarm-quantile: "${bad}"`));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
