import {
  type Kernel,
  type KernelInput,
  ReferenceKernel,
  WasmAdaptiveDetector,
  WasmKernel,
} from "../engine/mod.ts";
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
 * @module
 */

const STREAMS = 1000;
const BATCH = 8192;
const BATCHES = 64;
const OPTIONS = { maxStreams: STREAMS, window: 5, modelSize: 100, batchCapacity: BATCH };

/** Deterministic readings: every stream a level with noise, occasional spikes. */
function makeBatches(): KernelInput[] {
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const level = Float64Array.from({ length: STREAMS }, (_, s) => (s % 4 === 0 ? 1e6 : 10 + s));
  const clock = new Float64Array(STREAMS);
  const batches: KernelInput[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const stream = new Int32Array(BATCH);
    const time = new Float64Array(BATCH);
    const value = new Float64Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const s = Math.floor(rnd() * STREAMS);
      clock[s]! += 1000;
      stream[i] = s;
      time[i] = clock[s]!;
      value[i] = level[s]! * (1 + 0.01 * (rnd() - 0.5)) * (rnd() < 0.001 ? 3 : 1);
    }
    batches.push({ stream, time, value });
  }
  return batches;
}

const batches = makeBatches();

/** A kernel warmed up on every batch once, so models are full as in a long run. */
function warmed(kernel: Kernel): Kernel {
  for (let s = 0; s < STREAMS; s++) {
    kernel.setLimits(s, { low: 0, high: 2e6, maxDelta: 1e5, maxDeviationPct: 20 });
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
  fn() {
    const b = batches[nextPaired++ % BATCHES]!;
    const out = paired.process(b, BATCH);
    const a = adaptive.process(b, BATCH);
    sink += out.std[BATCH - 1]! + a.score[BATCH - 1]!;
  },
});

// Keeps `sink` observable so the work cannot be optimised away.
globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.error("kernel_bench: NaN output");
});
