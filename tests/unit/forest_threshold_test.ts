/**
 * The isolation forest's calibrated alarm threshold: the quantile on known data, training
 * writing it (and nothing else changing), a model with and without the field, the analyzer's
 * rule for each, and each online forest calibrating on its own training readings.
 */
import assert from "node:assert/strict";
import {
  alarmThresholdAt,
  Analyzer,
  DEFAULT_ALARM_QUANTILE,
  isForestAlarm,
  type IsolationForestModel,
  ModelError,
  OnlineForests,
  parseModel,
  type Reading,
  ReferenceKernel,
  scoreReference,
  serializeModel,
  trainIsolationForest,
  WasmIsolationForest,
} from "../../engine/mod.ts";
import { prng } from "../helpers.ts";

/** `n` two-feature records with bell-shaped noise, row-major. */
function records(n: number, seed: number): Float64Array {
  const rand = prng(seed);
  const bell = () => rand() + rand() + rand() + rand() - 2;
  const x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    x[i * 2] = 25 + bell();
    x[i * 2 + 1] = 1500 + 20 * bell();
  }
  return x;
}

Deno.test("alarmThresholdAt: the q quantile of anomaly-ness, linearly interpolated", () => {
  const five = [-0.1, -0.3, -0.5, -0.2, -0.4]; // order does not matter
  assert.equal(alarmThresholdAt(five, 0.75), -0.4); // h = 4 × 0.75 = 3: an order statistic
  assert.ok(Math.abs(alarmThresholdAt(five, 0.9) - -0.46) < 1e-15); // 0.4 + 0.6 × (0.5 − 0.4)
  assert.equal(alarmThresholdAt(five, 1), -0.5); // the most anomalous training score
  assert.equal(alarmThresholdAt([-0.42], 0.995), -0.42);
  // 1,001 distinct scores -0.000 … -1.000: at 0.995, 5 of them (0.5%) lie strictly below.
  const ramp = Array.from({ length: 1001 }, (_, i) => -i / 1000);
  const t = alarmThresholdAt(ramp, DEFAULT_ALARM_QUANTILE);
  assert.ok(Math.abs(t - -0.995) < 1e-12, String(t));
  assert.equal(ramp.filter((s) => s < t).length, 5);
  for (const q of [0, -0.1, 1.5, NaN]) {
    assert.throws(() => alarmThresholdAt(five, q), new RegExp(`got ${q}`));
  }
  assert.throws(() => alarmThresholdAt([], 0.9), /no scores/);
  assert.throws(() => alarmThresholdAt([-0.5, NaN], 0.9), /score 1 is NaN/);
});

Deno.test("train: writes the threshold of its own training scores; trees and scores unchanged", () => {
  const n = 1500;
  const x = records(n, 1);
  const model = trainIsolationForest(x, n, ["temperature", "speed"], { seed: 3 });
  const plain = trainIsolationForest(x, n, ["temperature", "speed"], {
    seed: 3,
    alarmQuantile: null,
  });
  const { scoreSamples } = scoreReference(model, x, n);
  assert.equal(model.alarm_quantile, 0.995);
  assert.equal(model.alarm_threshold, alarmThresholdAt(scoreSamples, 0.995));
  // About 0.5% of the training records lie below it; the offset rule flags another share.
  const below = scoreSamples.filter((s) => s < model.alarm_threshold!).length;
  assert.ok(below >= 5 && below <= 9, `${below} of ${n} below the threshold`);
  // The threshold is all that differs: the same trees, the same scores.
  assert.equal(plain.alarm_threshold, undefined);
  assert.equal(plain.alarm_quantile, undefined);
  assert.deepEqual(plain.trees, model.trees);
  assert.deepEqual(scoreReference(plain, x, n), scoreReference(model, x, n));
  const q99 = trainIsolationForest(x, n, ["temperature", "speed"], {
    seed: 3,
    alarmQuantile: 0.99,
  });
  assert.ok(q99.alarm_threshold! > model.alarm_threshold!); // a lower quantile alarms sooner
  assert.throws(
    () => trainIsolationForest(x, n, ["a", "b"], { alarmQuantile: 0 }),
    /alarmQuantile must be a number in \(0, 1\], got 0/,
  );
});

Deno.test("model file: with the fields they round-trip, without them the offset rule holds", () => {
  const x = records(300, 2);
  const model = trainIsolationForest(x, 300, ["a", "b"], { seed: 1, trees: 5 });
  const text = serializeModel(model);
  const back = parseModel(text);
  assert.equal(back.alarm_threshold, model.alarm_threshold);
  assert.equal(back.alarm_quantile, 0.995);
  // The additive fields sit before the trees, after the v1 fields.
  assert.ok(text.indexOf('"offset"') < text.indexOf('"alarm_threshold"'));
  assert.ok(text.indexOf('"alarm_quantile"') < text.indexOf('"trees"'));

  // A model as tools/export_sklearn_iforest.py writes it: no field, no threshold.
  const { alarm_threshold: _t, alarm_quantile: _q, ...v1 } = JSON.parse(text);
  const old = parseModel(JSON.stringify(v1));
  assert.equal(old.alarm_threshold, undefined);
  assert.ok(!serializeModel(old).includes("alarm_"));

  const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...v1, ...patch });
  assert.throws(() => parseModel(bad({ alarm_threshold: "low" })), (e) => {
    assert.ok(e instanceof ModelError);
    assert.match(e.message, /^alarm_threshold: /);
    return true;
  });
  assert.throws(() => parseModel(bad({ alarm_quantile: 1.5 })), /^ModelError: alarm_quantile: /);

  // The rule: score below the threshold with one; decision below 0 without.
  const offsetOnly = { offset: -0.5 };
  const calibrated = { offset: -0.5, alarm_threshold: -0.6 };
  assert.equal(isForestAlarm(offsetOnly, -0.55, -0.05), true);
  assert.equal(isForestAlarm(calibrated, -0.55, -0.05), false);
  assert.equal(isForestAlarm(calibrated, -0.61, -0.11), true);
  assert.equal(isForestAlarm(offsetOnly, -0.45, 0.05), false);
});

/** Readings of machine `m1` from row-major temperature/speed records. */
function readings(x: Float64Array, machine = "m1"): Reading[] {
  return Array.from({ length: x.length / 2 }, (_, i) => ({
    timestamp: Date.UTC(2026, 0, 1) + i * 1000,
    machine,
    status: "RUNNING",
    channels: { temperature: x[i * 2]!, speed: x[i * 2 + 1]! },
  }));
}

/** Indices of the analyzer's `ISOLATION_FOREST` raises (no adaptive detector: no delays). */
function raises(model: IsolationForestModel, live: Reading[]): number[] {
  const analyzer = new Analyzer(new ReferenceKernel({ window: 5 }), {
    processingIntervalMs: 10_000,
    isolationForest: new WasmIsolationForest(model),
  });
  const { events } = analyzer.analyze(live);
  return events.filter((e) => e.event.type === "ISOLATION_FOREST").map((e) => {
    assert.equal(e.event.threshold, model.alarm_threshold ?? model.offset);
    return e.index;
  });
}

Deno.test("analyzer: the alarm follows the model's threshold when present, else the offset", () => {
  const model = trainIsolationForest(records(1000, 4), 1000, ["temperature", "speed"], {
    seed: 9,
  });
  const { alarm_threshold: _t, alarm_quantile: _q, ...offsetModel } = model;
  const x = records(600, 5);
  const live = readings(x);
  const ref = scoreReference(model, x, 600);
  // Without delays a raise is each start of a run of outliers under the model's rule.
  const starts = (outlier: (i: number) => boolean) =>
    live.map((_, i) => i).filter((i) => outlier(i) && (i === 0 || !outlier(i - 1)));
  const byThreshold = starts((i) => ref.scoreSamples[i]! < model.alarm_threshold!);
  const byOffset = starts((i) => ref.decisionFunction[i]! < 0);
  assert.ok(byOffset.length > byThreshold.length, `${byOffset.length} vs ${byThreshold.length}`);
  assert.deepEqual(raises(model, live), byThreshold);
  assert.deepEqual(raises(offsetModel, live), byOffset);
});

Deno.test("online forests: each machine's threshold is the quantile of its own training scores", () => {
  const trained: IsolationForestModel[] = [];
  const online = new OnlineForests({
    trainSize: 300,
    seed: 2,
    trees: 20,
    createScorer: (m) => {
      trained.push(m);
      return new WasmIsolationForest(m);
    },
  });
  const a = records(300, 6);
  const b = records(300, 7).map((v, i) => i % 2 === 0 ? v + 50 : v * 2); // another machine
  const ra = readings(a, "a"), rb = readings(b, "b");
  for (let i = 0; i < 300; i++) {
    assert.equal(online.scorerFor(ra[i]!), null);
    assert.equal(online.scorerFor(rb[i]!), null);
  }
  assert.equal(trained.length, 2);
  for (const [model, x] of [[trained[0]!, a], [trained[1]!, b]] as const) {
    assert.equal(model.alarm_quantile, 0.995);
    assert.equal(
      model.alarm_threshold,
      alarmThresholdAt(scoreReference(model, x, 300).scoreSamples, 0.995),
    );
  }
  assert.notEqual(trained[0]!.alarm_threshold, trained[1]!.alarm_threshold);
  assert.throws(
    () => new OnlineForests({ trainSize: 10, alarmQuantile: 2, createScorer: () => null! }),
    /alarmQuantile must be a number in \(0, 1\], got 2/,
  );
  const none = new OnlineForests({
    trainSize: 10,
    alarmQuantile: null,
    createScorer: (m) => {
      assert.equal(m.alarm_threshold, undefined);
      trained.push(m);
      return new WasmIsolationForest(m);
    },
  });
  for (const r of ra.slice(0, 10)) none.scorerFor(r);
  assert.equal(trained.length, 3);
});

Deno.test("training on finite readings near the largest double gives a model that loads and scores", () => {
  // A reading of 1e300 among ordinary ones: the plain sum of squares overflows (scikit-learn's
  // StandardScaler gives inf), and the online forest's model, of scale Infinity, threw in the
  // WASM scorer and stopped the engine. Also values near ±1.8e308 of both signs.
  const cases = [
    [20, 21, 22, 1e300, 21, 22, 20, 21],
    [1.7e308, -1.7e308, 1, 2, 1.7e308, -1.7e308, 3, 4],
  ];
  for (const values of cases) {
    const n = values.length;
    const x = new Float64Array(n * 2);
    values.forEach((v, i) => {
      x[i * 2] = v;
      x[i * 2 + 1] = 1500 + i;
    });
    const model = trainIsolationForest(x, n, ["temperature", "speed"], { seed: 3, trees: 10 });
    for (const v of [...model.scaler!.mean, ...model.scaler!.scale]) {
      assert.ok(Number.isFinite(v), `${values}: ${v}`);
    }
    assert.equal(
      model.scaler!.scale[1],
      trainIsolationForest(
        x.map((v, i) => i % 2 === 0 ? 0 : v),
        n,
        ["temperature", "speed"],
        { seed: 3, trees: 10 },
      ).scaler!.scale[1],
    ); // the ordinary feature scaled as ever
    const { scoreSamples } = new WasmIsolationForest(model).score(x, n);
    for (const s of scoreSamples.subarray(0, n)) assert.ok(Number.isFinite(s), `${values}: ${s}`);
  }
});
