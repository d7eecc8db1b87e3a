/**
 * `--model`: the analyzer scores every reading that carries the model's features in one call per
 * batch, raises `ISOLATION_FOREST` once when a machine turns anomalous, and rows carry
 * `anomaly_score`; `replay --model` writes the column and the events; a bad model file exits 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { prng, runVigil, tableRows } from "../helpers.ts";
import {
  Analyzer,
  formatReading,
  OnlineForests,
  type Reading,
  ReferenceKernel,
  scoreReference,
  serializeModel,
  trainIsolationForest,
  WasmIsolationForest,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

/**
 * A healthy machine: temperature near 25 °C and speed near 1500 RPM with bell-shaped noise
 * (a sum of uniforms) of `spread` times the training data's width.
 */
function healthy(n: number, seed: number, spread = 1): Reading[] {
  const rand = prng(seed);
  const bell = () => (rand() + rand() + rand() + rand() - 2) * spread;
  const out: Reading[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      timestamp: T0 + i * 1000,
      machine: "m1",
      status: "RUNNING",
      channels: { temperature: 25 + bell(), speed: 1500 + 20 * bell() },
    });
  }
  return out;
}

function model() {
  const train = healthy(1000, 1);
  const x = new Float64Array(train.length * 2);
  train.forEach((r, i) => {
    x[i * 2] = r.channels.temperature!;
    x[i * 2 + 1] = r.channels.speed!;
  });
  return trainIsolationForest(x, train.length, ["temperature", "speed"], { seed: 7 });
}

Deno.test("analyzer with a forest: scores per reading, one event per anomalous stretch", () => {
  const m = model();
  // A batch capacity of 16 makes the 300 readings take several scoring calls.
  const forest = new WasmIsolationForest(m, { batchCapacity: 16 });
  const analyzer = new Analyzer(new ReferenceKernel({ window: 5 }), {
    processingIntervalMs: 10_000,
    isolationForest: forest,
  });
  // Live data from the heart of the training distribution: healthy, clearly inside.
  const readings = healthy(300, 2, 0.25);
  // Two separate anomalous stretches: 3 readings, then 2, far outside the training data.
  for (const i of [100, 101, 102, 200, 201]) {
    readings[i]!.channels = { temperature: 70, speed: 400 };
  }
  // A reading without the model's features is analysed but not scored.
  readings[250]!.channels = { temperature: 25.5 };
  const result = analyzer.analyze(readings);

  const forestEvents = result.events.filter((e) => e.event.type === "ISOLATION_FOREST");
  assert.deepEqual(forestEvents.map((e) => e.index), [100, 200]);
  const ev = forestEvents[0]!.event;
  assert.equal(ev.severity, "WARNING");
  assert.equal(ev.channel, null);
  assert.equal(ev.threshold, m.alarm_threshold); // the calibrated threshold on score_samples
  assert.match(ev.description, /^Isolation forest: temperature, speed look anomalous/);

  // Every row's anomaly_score is the reference score of the last scored reading of its machine.
  const x = new Float64Array(readings.length * 2);
  readings.forEach((r, i) => {
    x[i * 2] = r.channels.temperature!;
    x[i * 2 + 1] = r.channels.speed ?? 0;
  });
  const ref = scoreReference(m, x, readings.length);
  assert.ok(ref.decisionFunction[100]! < 0 && ref.decisionFunction[99]! >= 0);
  assert.equal(ev.value, Math.round(ref.scoreSamples[100]! * 1e6) / 1e6);
  assert.ok(result.rows.length >= 29);
  for (const { index, row } of tableRows(result.rows)) {
    const scored = index === 250 ? 249 : index;
    assert.equal(row.anomaly_score, Math.round(ref.scoreSamples[scored]! * 1e6) / 1e6);
  }
});

Deno.test("online mode: each machine trains on its first readings, then is scored", () => {
  const online = new OnlineForests({
    trainSize: 200,
    seed: 5,
    createScorer: (m) => new WasmIsolationForest(m, { batchCapacity: 32 }),
  });
  const analyzer = new Analyzer(new ReferenceKernel({ window: 5 }), {
    processingIntervalMs: 10_000,
    onlineForests: online,
  });
  // Two machines interleaved; m2 runs 100 °C hotter and 500 RPM faster, so one shared model
  // would not do.
  const m1 = healthy(400, 8, 1);
  const m2 = healthy(400, 9, 1).map((r) => ({
    ...r,
    machine: "m2",
    channels: { temperature: r.channels.temperature! + 100, speed: r.channels.speed! + 500 },
  }));
  for (const r of [...m1, ...m2]) {
    if (r.timestamp >= T0 + 200_000) { // after training: shrink the noise to the heart
      const t = r.channels.temperature!;
      const speed = r.machine === "m2" ? 2000 : 1500;
      r.channels.temperature = (r.machine === "m2" ? 125 : 25) + (t % 1 - 0.5) * 0.2;
      r.channels.speed = speed + (r.channels.speed! - speed) * 0.1;
    }
  }
  // m2's normal, m1's anomaly. Off in both features: the calibrated threshold of 200 training
  // readings is their most anomalous score or so, which a record off in one feature of two
  // (isolated only by the trees that split on it) does not reach.
  m1[300]!.channels = { temperature: 125, speed: 2000 };
  const readings = m1.flatMap((r, i) => [r, m2[i]!]);
  const result = analyzer.analyze(readings);
  assert.equal(online.trained, 2);

  const forestEvents = result.events.filter((e) => e.event.type === "ISOLATION_FOREST");
  assert.deepEqual(forestEvents.map((e) => [e.event.machine, e.index]), [["m1", 600]]);
  // Rows before a machine's forest is trained carry no score; later ones carry the score of
  // the model trained on exactly its first 200 readings.
  const x = new Float64Array(200 * 2);
  m1.slice(0, 200).forEach((r, i) => {
    x[i * 2] = r.channels.temperature!;
    x[i * 2 + 1] = r.channels.speed!;
  });
  const model = trainIsolationForest(x, 200, ["temperature", "speed"], { seed: 5 });
  for (const { index, row } of tableRows(result.rows)) {
    if (row.machine !== "m1") continue;
    const i = index / 2;
    if (i < 200) {
      assert.equal(row.anomaly_score, undefined);
      continue;
    }
    const r = m1[i]!;
    const ref = scoreReference(model, [r.channels.temperature!, r.channels.speed!], 1);
    assert.equal(row.anomaly_score, Math.round(ref.scoreSamples[0]! * 1e6) / 1e6);
  }
});

Deno.test("replay --model: anomaly_score column and ISOLATION_FOREST events; bad model exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil-model-" });
  try {
    const modelPath = join(dir, "model.json");
    await Deno.writeTextFile(modelPath, serializeModel(model()));
    const readings = healthy(200, 3, 0.25);
    readings[120]!.channels = { temperature: 80, speed: 300 };
    const input = join(dir, "live.jsonl");
    await Deno.writeTextFile(input, readings.map(formatReading).join("\n") + "\n");

    const ok = await runVigil([
      "replay",
      input,
      "--model",
      modelPath,
      "--data-dir",
      join(dir, "out"),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const csv = (await Deno.readTextFile(join(dir, "out", "analysis_output.csv"))).trim()
      .split("\n");
    const header = csv[0]!.split(",");
    assert.equal(header.at(-1), "anomaly_score");
    for (const line of csv.slice(1)) {
      const score = Number(line.split(",").at(-1));
      assert.ok(score < 0 && score > -1, `score in (-1, 0): ${line}`);
    }
    const events = (await Deno.readTextFile(join(dir, "out", "anomalies.jsonl"))).trim().split(
      "\n",
    ).map((l) => JSON.parse(l)).filter((e) => e.type === "ISOLATION_FOREST");
    // One alarm episode: raised at the outlier, cleared once (INFO, same type) after the
    // off-delay's 20 normal readings.
    assert.deepEqual(events.map((e) => e.severity === "INFO"), [false, true]);
    assert.equal(events[0].timestamp, new Date(readings[120]!.timestamp).toISOString());
    assert.equal(events[1].timestamp, new Date(readings[140]!.timestamp).toISOString());

    const missing = await runVigil(["replay", input, "--model", join(dir, "nope.json")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--model: ".*nope\.json" does not exist/);
    const both = await runVigil(["replay", input, "--model", modelPath, "--online-model", "50"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--model and --online-model exclude each other/);
    // Online: the first 100 readings (the full healthy spread) train, the rest sit well inside.
    const live = healthy(200, 4, 1).map((r, i) =>
      i < 100 ? r : { ...r, channels: healthy(1, 100 + i, 0.2)[0]!.channels }
    );
    live[150]!.channels = { temperature: 80, speed: 300 };
    const onlineInput = join(dir, "online.jsonl");
    await Deno.writeTextFile(onlineInput, live.map(formatReading).join("\n") + "\n");
    const online = await runVigil([
      "replay",
      onlineInput,
      "--online-model",
      "100",
      "--data-dir",
      join(dir, "online"),
    ]);
    assert.equal(online.code, 0, online.stderr);
    const onlineCsv = await Deno.readTextFile(join(dir, "online", "analysis_output.csv"));
    assert.equal(onlineCsv.split("\n")[0]!.split(",").at(-1), "anomaly_score");
    const onlineEvents = (await Deno.readTextFile(join(dir, "online", "anomalies.jsonl")))
      .trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "ISOLATION_FOREST");
    // Nothing is scored while the machine trains; the planted outlier is the one episode,
    // raised there and cleared 20 normal readings later.
    assert.deepEqual(onlineEvents.map((e) => [e.timestamp, e.severity === "INFO"]), [
      [new Date(live[150]!.timestamp).toISOString(), false],
      [new Date(live[170]!.timestamp).toISOString(), true],
    ]);
    await Deno.writeTextFile(join(dir, "bad.json"), '{"format": "isolation-forest/v2"}');
    const bad = await runVigil(["replay", input, "--model", join(dir, "bad.json")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad value for --model: ".*bad\.json": /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
