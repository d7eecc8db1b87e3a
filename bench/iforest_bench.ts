/**
 * Isolation-forest scoring throughput (100 trees, 256 samples, 8 features).
 *
 * Under `deno bench` (part of `deno task bench`): WASM against the TypeScript reference on a
 * model trained by Vigil, 16,384 records per iteration; records/s = 16,384 / time per iteration.
 *
 *   deno task build:wasm && deno bench -A bench/iforest_bench.ts
 *
 * Run as a script: the side-by-side with scikit-learn on 1,000,000 records. It runs
 * bench/iforest_sklearn.py (Debian's /usr/bin/python3 with python3-sklearn; override with env
 * VIGIL_PYTHON), which fits the forest, exports it, writes the records to bench/out/iforest/
 * (gitignored, 64 MB) and times `score_samples` single-threaded; then this script times
 * Vigil's WASM scorer and TypeScript reference on the same model and records (single thread,
 * best of 3; the reference once), checks the scores equal scikit-learn's within 1e-12, and
 * prints the times and ratios.
 *
 *   deno task build:wasm && deno run -A bench/iforest_bench.ts [RECORDS]
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  type IsolationForestModel,
  parseModel,
  scoreReference,
  trainIsolationForest,
  WasmIsolationForest,
} from "../engine/mod.ts";

const D = 8;
const FEATURES = ["p_in", "p_out", "flow", "temp", "vib_x", "vib_y", "current", "speed"];

/** Deterministic correlated records (a shared "load" plus noise per sensor). */
function records(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const x = new Float64Array(n * D);
  for (let i = 0; i < n; i++) {
    const load = rnd();
    for (let j = 0; j < D; j++) x[i * D + j] = (j + 1) * (load + 0.3 * rnd());
  }
  return x;
}

if (!import.meta.main) {
  const N = 16384;
  const model = trainIsolationForest(records(10000, 1), 10000, FEATURES, { seed: 1 });
  const x = records(N, 2);
  const wasm = new WasmIsolationForest(model, { batchCapacity: N });
  Deno.bench("iforest WASM, 16,384 records", { group: "iforest", baseline: true }, () => {
    wasm.scoreBatch(x, N);
  });
  Deno.bench("iforest TS reference, 16,384 records", { group: "iforest" }, () => {
    scoreReference(model, x, N);
  });
}

function best(runs: number, f: () => void): number {
  let t = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

async function sideBySide(n: number): Promise<void> {
  const out = fileURLToPath(new URL("./out/iforest/", import.meta.url));
  const script = fileURLToPath(new URL("./iforest_sklearn.py", import.meta.url));
  const python = Deno.env.get("VIGIL_PYTHON") ?? "/usr/bin/python3";
  // Without scikit-learn there is nothing to compare with: say so rather than fail the bench.
  let found = false;
  try {
    const cmd = new Deno.Command(python, { args: ["-c", "import sklearn"], stderr: "null" });
    found = (await cmd.output()).success;
  } catch {
    // No such interpreter: reported below.
  }
  if (!found) {
    console.log(`iforest side by side skipped: ${python} cannot import sklearn (set VIGIL_PYTHON)`);
    return;
  }
  console.log(`running ${python} ${script} (fit, export, ${n} records, time score_samples)…`);
  const res = await new Deno.Command(python, {
    args: [script, out, String(n)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!res.success) throw new Error(`${script} failed (exit ${res.code})`);
  const sk = JSON.parse(new TextDecoder().decode(res.stdout).trim().split("\n").at(-1)!) as {
    seconds: number;
    sklearn: string;
  };
  const model: IsolationForestModel = parseModel(await Deno.readTextFile(out + "model.json"));
  const bytes = await Deno.readFile(out + "records.f64");
  const x = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const sBytes = await Deno.readFile(out + "scores.f64");
  const expected = new Float64Array(sBytes.buffer, sBytes.byteOffset, sBytes.byteLength / 8);
  const wasm = new WasmIsolationForest(model);
  let scores: Float64Array = new Float64Array(0);
  const tWasm = best(3, () => {
    scores = wasm.score(x, n).scoreSamples;
  });
  let refScores: Float64Array = new Float64Array(0);
  const tRef = best(1, () => {
    refScores = scoreReference(model, x, n).scoreSamples;
  });
  let worst = 0;
  for (let i = 0; i < n; i++) {
    worst = Math.max(
      worst,
      Math.abs(scores[i]! - expected[i]!),
      Math.abs(refScores[i]! - expected[i]!),
    );
  }
  const rate = (t: number) => `${(n / t / 1e6).toFixed(2)} M records/s`;
  console.log(
    `isolation forest: ${model.trees.length} trees, max_samples ${model.max_samples}, ` +
      `${model.features.length} features, ${n} records, single thread`,
  );
  console.log(
    `  scikit-learn ${sk.sklearn} score_samples: ${sk.seconds.toFixed(3)} s  ${rate(sk.seconds)}`,
  );
  console.log(
    `  Vigil WASM:                  ${tWasm.toFixed(3)} s  ${rate(tWasm)}  ` +
      `${(sk.seconds / tWasm).toFixed(2)}× scikit-learn`,
  );
  console.log(
    `  Vigil TypeScript reference:  ${tRef.toFixed(3)} s  ${rate(tRef)}  ` +
      `${(sk.seconds / tRef).toFixed(2)}× scikit-learn`,
  );
  console.log(
    `  WASM : reference ${(tRef / tWasm).toFixed(2)}×; max |score - scikit-learn| ${worst}`,
  );
  if (!(worst <= 1e-12)) throw new Error(`scores differ from scikit-learn by ${worst}`);
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 1_000_000);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`RECORDS: bad value ${Deno.args[0]}`);
  await sideBySide(n);
}
