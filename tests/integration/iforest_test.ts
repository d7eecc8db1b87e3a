/**
 * Isolation forest: scikit-learn parity of the WASM and reference scorers on the committed
 * fixture (made by tools/make_iforest_fixture.py with Debian's python3-sklearn), the float32
 * comparison, c(n), model validation, training, and the `train`/`score` commands end to end.
 *
 * Past ~400 lines: the whole suite of one component (iforest), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
// Test-only: writes the Parquet input (the engine reads Parquet with hyparquet).
import { parquetWriteBuffer } from "npm:hyparquet-writer@0.17.0";
import {
  averagePathLength,
  type IsolationForestModel,
  ModelError,
  parseModel,
  scoreReference,
  serializeModel,
  trainIsolationForest,
  validateModel,
  WasmIsolationForest,
} from "../../engine/mod.ts";
import { runVigil } from "../helpers.ts";

const FIXTURES = new URL("../fixtures/iforest/", import.meta.url);

interface Fixture {
  model: IsolationForestModel;
  kinds: string[];
  x: Float64Array;
  n: number;
  expected: { score: number[]; decision: number[] };
}

function readCsv(name: string): string[][] {
  return Deno.readTextFileSync(new URL(name, FIXTURES)).trimEnd().split("\n").map((l) =>
    l.split(",")
  );
}

function loadFixture(name: string): Fixture {
  const model = parseModel(Deno.readTextFileSync(new URL(`${name}_model.json`, FIXTURES)));
  const [header, ...rows] = readCsv(`${name}_input.csv`);
  assert.deepEqual(header!.slice(1), model.features);
  const d = model.features.length;
  const x = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) x[i * d + j] = Number(r[j + 1]);
  });
  const [, ...exp] = readCsv(`${name}_expected.csv`);
  assert.deepEqual(exp.length, rows.length);
  return {
    model,
    kinds: rows.map((r) => r[0]!),
    x,
    n: rows.length,
    expected: {
      score: exp.map((r) => Number(r[0])),
      decision: exp.map((r) => Number(r[1])),
    },
  };
}

/** Largest |a[i] - b[i]|, and the index where it is. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
  assert.deepEqual(a.length, b.length);
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) [worst, at] = [d, i]; // NaN counts as worst
  }
  return [worst, at];
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  const [d, i] = maxDiff(a, b);
  assert(d <= tol, `${what}: record ${i} differs by ${d} (${a[i]} vs ${b[i]})`);
}

/** A scorer that compares in float64: what the fixture's float32 rows must catch. */
function scoreFloat64(model: IsolationForestModel, x: Float64Array, n: number): number[] {
  const d = model.features.length;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (const t of model.trees) {
      let node = 0, depth = 0;
      while (t.left[node] !== -1) {
        const f = t.feature[node]!;
        const v = x[i * d + f]!;
        const s = model.scaler ? (v - model.scaler.mean[f]!) / model.scaler.scale[f]! : v;
        node = s <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
        depth++;
      }
      sum += depth + 1 + averagePathLength(t.samples[node]!) - 1;
    }
    out.push(-(2 ** -(sum / (model.trees.length * averagePathLength(model.max_samples)))));
  }
  return out;
}

for (const name of ["pump", "vibration"]) {
  Deno.test(`iforest: ${name} fixture, WASM and reference equal scikit-learn within 1e-12`, () => {
    const f = loadFixture(name);
    assert(f.n >= 200, `fixture ${name} has ${f.n} records`);
    assert.deepEqual(f.model.trees.length, 100);
    // Small batches so that several WASM calls (and the 4-record tail) are exercised.
    const wasm = new WasmIsolationForest(f.model, { batchCapacity: 37 }).score(f.x, f.n);
    const ref = scoreReference(f.model, f.x, f.n);
    assertClose(wasm.scoreSamples, f.expected.score, 1e-12, `${name} WASM score_samples`);
    assertClose(wasm.decisionFunction, f.expected.decision, 1e-12, `${name} WASM decision`);
    assertClose(ref.scoreSamples, f.expected.score, 1e-12, `${name} reference score_samples`);
    assertClose(ref.decisionFunction, f.expected.decision, 1e-12, `${name} reference decision`);
    // The fixture must be able to catch a scorer that skips the float32 rounding.
    const naive = scoreFloat64(f.model, f.x, f.n);
    const wrong = f.kinds.filter((k, i) => k === "float32" && naive[i] !== f.expected.score[i]);
    assert(wrong.length >= 10, `${name}: only ${wrong.length} float32 rows catch float64 scoring`);
    // Planted outliers score below the normal records on average.
    const mean = (k: string) => {
      const s = f.expected.score.filter((_, i) => f.kinds[i] === k);
      return s.reduce((a, b) => a + b, 0) / s.length;
    };
    assert(mean("outlier") < mean("normal"));
  });
}

Deno.test("iforest: pump fixture uses max_features < 1 and a scaler; vibration has none", () => {
  const pump = loadFixture("pump").model;
  assert(pump.scaler !== null);
  // With max_features = 0.75 no tree uses all eight columns.
  for (const t of pump.trees) {
    const used = new Set(t.feature.filter((f, i) => t.left[i] !== -1 && f >= 0));
    assert(used.size <= 6, `a tree uses ${used.size} features`);
  }
  assert.deepEqual(loadFixture("vibration").model.scaler, null);
});

/** The next double above x (x > 0). */
function nextUp(x: number): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  b.setBigUint64(0, b.getBigUint64(0) + 1n);
  return b.getFloat64(0);
}

function oneSplit(threshold: number): IsolationForestModel {
  return validateModel({
    format: "isolation-forest/v1",
    features: ["a"],
    scaler: null,
    max_samples: 4,
    offset: -0.5,
    trees: [{
      left: [1, -1, -1],
      right: [2, -1, -1],
      feature: [0, -2, -2],
      threshold: [threshold, -2, -2],
      samples: [4, 1, 3],
    }],
  });
}

Deno.test("iforest: a value between a threshold and its float32 neighbour goes float32's way", () => {
  const c4 = averagePathLength(4);
  const leftScore = -(2 ** -(1 / c4)); // leaf of 1 sample at depth 1: path 1
  const rightScore = -(2 ** -((1 + averagePathLength(3)) / c4));
  assert(leftScore !== rightScore);
  // fround(0.1) > 0.1: x = 0.1 is <= the threshold in float64, but not in float32.
  assert(Math.fround(0.1) > 0.1);
  // fround(0.7) < 0.7: the double after 0.7 is > it in float64, but rounds to below it.
  const above = nextUp(0.7);
  assert(Math.fround(above) <= 0.7 && above > 0.7);
  for (const [threshold, x, want] of [[0.1, 0.1, rightScore], [0.7, above, leftScore]] as const) {
    const model = oneSplit(threshold);
    const xs = Float64Array.of(x);
    assert.deepEqual(new WasmIsolationForest(model).score(xs, 1).scoreSamples[0], want);
    assert.deepEqual(scoreReference(model, xs, 1).scoreSamples[0], want);
  }
});

Deno.test("iforest: a non-finite value is refused naming its record and feature", () => {
  const x = Float64Array.from({ length: 10 }, (_, i) => i / 10);
  x[6] = NaN;
  const forest = new WasmIsolationForest(oneSplit(0.5), { batchCapacity: 4 });
  assert.throws(() => forest.score(x, 10), /record 6, feature a: NaN is not finite/);
  assert.throws(() => scoreReference(oneSplit(0.5), x, 10), /record 6, feature a: NaN/);
  assert.throws(() => forest.scoreBatch(x, 5), /n must be an integer in 0…4/);
  // The refused batch changed nothing: the next one scores normally.
  assert.equal(forest.score(x.subarray(0, 4), 4).scoreSamples.length, 4);
});

Deno.test("iforest: c(n) as scikit-learn's _average_path_length", () => {
  assert.deepEqual(averagePathLength(0), 0);
  assert.deepEqual(averagePathLength(1), 0);
  assert.deepEqual(averagePathLength(2), 1);
  // scikit-learn 1.2.1's values (tools/make_iforest_fixture.py's Python prints the same).
  const sk: [number, number][] = [
    [3, 1.207392357589623],
    [4, 1.8516559071392846],
    [10, 3.748880484475504],
    [128, 8.858430502720248],
    [256, 10.244770920119917],
  ];
  for (const [n, c] of sk) {
    assert(Math.abs(averagePathLength(n) - c) <= 1e-15 * c, `c(${n}) = ${averagePathLength(n)}`);
  }
});

Deno.test("iforest: model validation names the bad field", () => {
  const good = JSON.parse(serializeModel(oneSplit(0.5)));
  const bad = (patch: (m: Record<string, unknown>) => void, field: RegExp) => {
    const m = structuredClone(good);
    patch(m);
    assert.throws(() => validateModel(m), (e: Error) => {
      assert(e instanceof ModelError, String(e));
      assert.match(e.message, field);
      return true;
    });
  };
  bad((m) => m.format = "isolation-forest/v2", /^format:/);
  bad((m) => delete m.features, /^features:/);
  bad((m) => m.max_samples = 0, /^max_samples:/);
  bad((m) => m.offset = "auto", /^offset:/);
  bad((m) => m.scaler = { mean: [0, 1], scale: [1, 1] }, /^scaler\.mean: has 2 values/);
  bad((m) => m.scaler = { mean: [0], scale: [0] }, /^scaler\.scale\[0\]: is 0/);
  bad(
    (m) => (m.trees as { feature: number[] }[])[0]!.feature[0] = 3,
    /^trees\[0\]\.feature\[0\]: 3/,
  );
  bad((m) => (m.trees as { left: number[] }[])[0]!.left[0] = -1, /^trees\[0\]\.left\[0\]/);
  bad((m) => (m.trees as { right: number[] }[])[0]!.right[0] = 7, /^trees\[0\]\.right\[0\]: 7/);
  bad((m) => (m.trees as { samples: number[] }[])[0]!.samples.pop(), /^trees\[0\]\.samples: has 2/);
  bad(
    (m) => (m.trees as { threshold: unknown[] }[])[0]!.threshold[1] = "x",
    /^trees\.0\.threshold|^trees\[0\]\.threshold\[1\]/,
  );
  bad((m) => (m.trees as { right: number[] }[])[0]!.right[0] = 1, /two parents/);
  bad((m) => {
    const t = (m.trees as Record<string, number[]>[])[0]!;
    for (const k of ["left", "right", "feature", "threshold", "samples"]) t[k]!.push(-1);
    t.feature![3] = -2;
    t.samples![3] = 1;
  }, /^trees\[0\]: node 3 has no parent/);
  assert.throws(() => parseModel("{"), /not JSON/);
  // And a good one passes unchanged.
  assert.deepEqual(validateModel(good), good);
});

/** Seeded normal deviates (Box–Muller over mulberry32) for test data. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const PUMP = ["p_in", "p_out", "flow", "temp", "vib_x", "vib_y", "current", "speed"];
const LEVEL = [1.2, 5.5, 110, 52, 1.3, 1.1, 16, 1300];
const SPREAD = [0.05, 0.1, 2, 0.7, 0.05, 0.05, 0.3, 8];

/** `normal` pump records around their levels, then `outliers` far off on every sensor. */
function pumpRecords(normal: number, outliers: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const d = PUMP.length;
  const x = new Float64Array((normal + outliers) * d);
  for (let i = 0; i < normal + outliers; i++) {
    const load = g();
    for (let j = 0; j < d; j++) x[i * d + j] = LEVEL[j]! + SPREAD[j]! * (load * 0.8 + g() * 0.6);
    if (i >= normal) {
      // A broken machine: every sensor 6–8 spreads off its level, in mixed directions.
      for (let j = 0; j < d; j++) {
        const sign = (i + j * 3) % 4 < 2 ? 1 : -1;
        x[i * d + j] = LEVEL[j]! + sign * (6 + (j % 3)) * SPREAD[j]!;
      }
    }
  }
  return x;
}

Deno.test("iforest: train then score finds planted outliers; seeded training repeats", () => {
  const normal = 2000, outliers = 12;
  const n = normal + outliers;
  const x = pumpRecords(normal, outliers, 42);
  const model = trainIsolationForest(x, n, PUMP, { seed: 5 });
  assert.deepEqual(model.trees.length, 100);
  assert.deepEqual(model.max_samples, 256);
  assert.deepEqual(model.offset, -0.5);
  for (const t of model.trees) {
    assert.deepEqual(t.samples[0], 256);
    // Children split their parent's samples; depth is at most ceil(log2(256)) = 8.
    const depth = new Array<number>(t.left.length).fill(0);
    for (let i = 0; i < t.left.length; i++) {
      if (t.left[i] === -1) continue;
      assert.deepEqual(t.samples[t.left[i]!]! + t.samples[t.right[i]!]!, t.samples[i]);
      depth[t.left[i]!] = depth[t.right[i]!] = depth[i]! + 1;
    }
    assert(Math.max(...depth) <= 8);
  }
  const again = trainIsolationForest(x, n, PUMP, { seed: 5 });
  assert.deepEqual(serializeModel(again), serializeModel(model));
  assert(serializeModel(trainIsolationForest(x, n, PUMP, { seed: 6 })) !== serializeModel(model));
  // The file round trip keeps the model.
  const loaded = parseModel(serializeModel(model));
  const wasm = new WasmIsolationForest(loaded).score(x, n);
  const ref = scoreReference(loaded, x, n);
  assertClose(wasm.scoreSamples, ref.scoreSamples, 1e-12, "WASM vs reference");
  // The planted outliers are the lowest scores, and outliers by decision_function.
  const order = [...wasm.scoreSamples.keys()].sort((a, b) =>
    wasm.scoreSamples[a]! - wasm.scoreSamples[b]!
  );
  assert.deepEqual(new Set(order.slice(0, outliers)), new Set(order.filter((i) => i >= normal)));
  for (let i = normal; i < n; i++) assert(wasm.decisionFunction[i]! < 0, `outlier ${i}`);
  const flagged = wasm.decisionFunction.filter((d) => d < 0).length;
  assert(flagged < normal / 10, `${flagged} records flagged`);
});

Deno.test("iforest: training refuses bad options naming them", () => {
  const x = pumpRecords(10, 0, 1);
  assert.throws(() => trainIsolationForest(x, 10, PUMP, { trees: 0 }), /trees .* got 0/);
  assert.throws(() => trainIsolationForest(x, 10, PUMP, { maxSamples: 1.5 }), /maxSamples .* 1\.5/);
  const y = x.slice();
  y[17] = NaN;
  assert.throws(() => trainIsolationForest(y, 10, PUMP), /record 2, feature p_out: NaN/);
});

Deno.test("iforest: train and score commands end to end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil_iforest_" });
  try {
    const normal = 600, outliers = 5;
    const x = pumpRecords(normal, outliers, 9);
    const d = PUMP.length;
    // `;`-separated CSV with a time column and a text column that are not features.
    const t0 = Date.UTC(2026, 0, 1);
    const lines = [["timestamp", "machine", ...PUMP].join(";")];
    for (let i = 0; i < normal + outliers; i++) {
      const row = Array.from(x.subarray(i * d, i * d + d), String);
      lines.push([new Date(t0 + i * 1000).toISOString(), `m${i % 3}`, ...row].join(";"));
    }
    const csv = `${dir}/pump.csv`;
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
    const modelPath = `${dir}/model.json`;
    const tr = await runVigil(["train", "--input", csv, "--out", modelPath, "--seed", "3"]);
    assert.deepEqual(tr.code, 0, tr.stderr);
    const model = parseModel(await Deno.readTextFile(modelPath));
    assert.deepEqual(model.features, PUMP); // every numeric column, not the time or machine column

    // Score a JSONL file of the same records: output columns are the input's, in order.
    const jsonl = `${dir}/pump.jsonl`;
    await Deno.writeTextFile(
      jsonl,
      lines.slice(1).map((l) => {
        const c = l.split(";");
        const o: Record<string, unknown> = { timestamp: c[0], machine: c[1] };
        PUMP.forEach((p, j) => o[p] = Number(c[j + 2]));
        return JSON.stringify(o);
      }).join("\n") + "\n",
    );
    const outPath = `${dir}/scores.csv`;
    const sc = await runVigil(["score", "--model", modelPath, "--input", jsonl, "--out", outPath]);
    assert.deepEqual(sc.code, 0, sc.stderr);
    const out = (await Deno.readTextFile(outPath)).trimEnd().split("\n").map((l) => l.split(","));
    assert.deepEqual(out[0], [
      "timestamp",
      "machine",
      ...PUMP,
      "score_samples",
      "decision_function",
    ]);
    assert.deepEqual(out.length, normal + outliers + 1);
    const want = scoreReference(model, x, normal + outliers);
    for (let i = 0; i < normal + outliers; i++) {
      const r = out[i + 1]!;
      assert.deepEqual(r[0], new Date(t0 + i * 1000).toISOString());
      assert.deepEqual(r.slice(2, 2 + d).map(Number), Array.from(x.subarray(i * d, i * d + d)));
      // The CLI scores in WASM: its 2 ** x may differ from JS's in the last bit.
      assert(Math.abs(Number(r[d + 2]) - want.scoreSamples[i]!) <= 1e-12, `record ${i}`);
      assert(Math.abs(Number(r[d + 3]) - want.decisionFunction[i]!) <= 1e-12, `record ${i}`);
      if (i >= normal) assert(Number(r[d + 3]) < 0, `planted outlier ${i} not flagged`);
    }

    // The CSV fixture through the CLI (stdout) gives scikit-learn's numbers.
    const fx = await runVigil([
      "score",
      "--model",
      fileURLToPath(new URL("pump_model.json", FIXTURES)),
      "--input",
      fileURLToPath(new URL("pump_input.csv", FIXTURES)),
    ]);
    assert.deepEqual(fx.code, 0, fx.stderr);
    const rows = fx.stdout.trimEnd().split("\n").map((l) => l.split(","));
    const f = loadFixture("pump");
    assert.deepEqual(rows.length, f.n + 1);
    assertClose(rows.slice(1).map((r) => Number(r.at(-2))), f.expected.score, 1e-12, "CLI");
    assertClose(rows.slice(1).map((r) => Number(r.at(-1))), f.expected.decision, 1e-12, "CLI");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iforest: score reads Parquet", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil_iforest_pq_" });
  try {
    const f = loadFixture("vibration");
    const d = f.model.features.length;
    const columnData = [
      { name: "kind", data: f.kinds, type: "STRING" as const },
      ...f.model.features.map((name, j) => ({
        name,
        data: Array.from({ length: f.n }, (_, i) => f.x[i * d + j]!),
        type: "DOUBLE" as const,
      })),
    ];
    const path = `${dir}/vibration.parquet`;
    await Deno.writeFile(path, new Uint8Array(parquetWriteBuffer({ columnData })));
    const r = await runVigil([
      "score",
      "--model",
      fileURLToPath(new URL("vibration_model.json", FIXTURES)),
      "--input",
      path,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split("\n").map((l) => l.split(","));
    assert.deepEqual(rows[0], ["kind", ...f.model.features, "score_samples", "decision_function"]);
    assert.deepEqual(rows.slice(1).map((row) => row[0]), f.kinds);
    assertClose(rows.slice(1).map((row) => Number(row.at(-2))), f.expected.score, 1e-12, "pq");
    assertClose(rows.slice(1).map((row) => Number(row.at(-1))), f.expected.decision, 1e-12, "pq");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iforest: bad flags and files exit 2 naming them", async () => {
  const cases: [string[], RegExp][] = [
    [["train", "--input", "x.csv", "--out", "m.json", "--bogus", "1"], /--bogus/],
    [["train", "--input", "x.csv", "--out", "m.json", "--trees", "zero"], /--trees: "zero"/],
    [["train", "--out", "m.json"], /--input is required/],
    [["train", "--input", "/nonexistent/x.csv", "--out", "m.json"], /no such file "\/nonexistent/],
    [
      ["score", "--model", "/nonexistent/m.json", "--input", "x.csv"],
      /^vigil: bad value for --model: "\/nonexistent\/m\.json" does not exist$/m,
    ],
  ];
  for (const [args, msg] of cases) {
    const r = await runVigil(args);
    assert.deepEqual(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});
