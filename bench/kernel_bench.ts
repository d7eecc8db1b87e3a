import { type Kernel, ReferenceKernel, WasmAdaptiveDetector, WasmKernel } from "../engine/mod.ts";
import { BaselineRollingKernel } from "./baseline/kernels_0ac83a4.ts";
import { BATCH, BATCHES, LIMITS, makeBatches, OPTIONS, STREAMS } from "./kernel_data.ts";
/**
 * The fused kernel, WebAssembly against its TypeScript reference, on the same pre-generated
 * batches: 1,000 streams interleaved, batches of 8,192 readings, window 5, model 100.
 *
 *   deno task build:wasm && deno bench -A bench/kernel_bench.ts
 *
 * Each iteration processes one batch (the next of 64, cycling), so values/s = 8,192 / the
 * reported time per iteration; the group's summary gives the WASM : reference ratio.
 *
 * The group "rolling vs rolling+adaptive" is what the analyzer's default (`--detector
 * adaptive`) costs per slice: the WASM kernel alone against the WASM kernel then the WASM
 * adaptive detector on the same batch (the analyzer's two calls per slice), both warmed past
 * the adaptive warm-up.
 *
 * The group "per-slice detection vs 0ac83a4 rolling" puts that against the rolling kernel as it
 * was at 0ac83a4 (bench/baseline/rolling_0ac83a4.wasm, the bytes of that commit's build), the
 * reference of the "no more than 20 % slower". For interleaved CPU-time rounds of the
 * same contestants (steadier on a shared machine) run bench/slice_cost.ts.
 * @module
 */

const batches = makeBatches();

/** A kernel warmed up on every batch once, so models are full as in a long run. */
function warmed(kernel: Kernel): Kernel {
  for (let s = 0; s < STREAMS; s++) {
    kernel.setLimits(s, LIMITS);
  }
  for (let r = 0; r < 2; r++) for (const b of batches) kernel.process(b, BATCH);
  return kernel;
}

const wasm = warmed(new WasmKernel(OPTIONS));
const reference = warmed(new ReferenceKernel(OPTIONS));
let nextWasm = 0;
let nextRef = 0;
let sink = 0;

Deno.bench({
  name: `WasmKernel: ${BATCH} readings × 1,000 streams`,
  group: "fused kernel",
  n: 2000,
  warmup: 200,
  fn() {
    const out = wasm.process(batches[nextWasm++ % BATCHES]!, BATCH);
    sink += out.std[BATCH - 1]!;
  },
});

Deno.bench({
  name: `ReferenceKernel: ${BATCH} readings × 1,000 streams`,
  group: "fused kernel",
  baseline: true,
  n: 500,
  warmup: 50,
  fn() {
    const out = reference.process(batches[nextRef++ % BATCHES]!, BATCH);
    sink += out.std[BATCH - 1]!;
  },
});

const alone = warmed(new WasmKernel(OPTIONS));
const paired = warmed(new WasmKernel(OPTIONS));
const adaptive = new WasmAdaptiveDetector({ maxStreams: STREAMS, batchCapacity: BATCH });
// 64 batches of 8,192 over 1,000 streams is ~520 readings a stream: past the 400 of warm-up.
for (const b of batches) adaptive.process(b, BATCH);
let nextAlone = 0;
let nextPaired = 0;

/** The analyzer's per-slice detection: the rolling kernel, then the adaptive detector. */
function pairedBatch(): void {
  const b = batches[nextPaired++ % BATCHES]!;
  const out = paired.process(b, BATCH);
  const a = adaptive.process(b, BATCH);
  sink += out.std[BATCH - 1]! + a.score[BATCH - 1]!;
}

Deno.bench({
  name: `WasmKernel alone: ${BATCH} readings × 1,000 streams`,
  group: "rolling vs rolling+adaptive",
  baseline: true,
  n: 2000,
  warmup: 200,
  fn() {
    const out = alone.process(batches[nextAlone++ % BATCHES]!, BATCH);
    sink += out.std[BATCH - 1]!;
  },
});

Deno.bench({
  name: `WasmKernel + WasmAdaptiveDetector: ${BATCH} readings × 1,000 streams`,
  group: "rolling vs rolling+adaptive",
  n: 2000,
  warmup: 200,
  fn: pairedBatch,
});

const old = new BaselineRollingKernel(OPTIONS);
for (let s = 0; s < STREAMS; s++) old.setLimits(s, LIMITS);
for (let r = 0; r < 2; r++) for (const b of batches) old.process(b, BATCH);
let nextOld = 0;

Deno.bench({
  name: `0ac83a4 rolling kernel: ${BATCH} readings × 1,000 streams`,
  group: "per-slice detection vs 0ac83a4 rolling",
  baseline: true,
  n: 2000,
  warmup: 200,
  fn() {
    sink += old.process(batches[nextOld++ % BATCHES]!, BATCH)[BATCH - 1]!;
  },
});

Deno.bench({
  name: `WasmKernel + WasmAdaptiveDetector (today): ${BATCH} readings × 1,000 streams`,
  group: "per-slice detection vs 0ac83a4 rolling",
  n: 2000,
  warmup: 200,
  fn: pairedBatch,
});

// Keeps `sink` observable so the work cannot be optimised away.
globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.error("kernel_bench: NaN output");
});
