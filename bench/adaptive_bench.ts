import {
  type AdaptiveDetector,
  type AdaptiveInput,
  ReferenceAdaptiveDetector,
  WasmAdaptiveDetector,
} from "../engine/mod.ts";
/**
 * The adaptive detector, WebAssembly against its TypeScript reference, side by side on the
 * same pre-generated batches of 8,192 readings: 1,000 streams interleaved, 10-minute readings
 * (3.6 days per stream over the 64 batches, so daily profiles are learned and used), level
 * noise, some seasonal, some quantised, rare spikes and gaps; default options (seasonality
 * auto, 6 KiB of state per stream).
 *
 *   deno task build:wasm && deno bench -A bench/adaptive_bench.ts
 *
 * Each iteration processes one batch (the next of 64, cycling) after a warm-up past every
 * stream's 400-reading warm-up, so readings/s = 8,192 / the time per iteration; the group's
 * summary gives the WASM : reference ratio.
 * @module
 */

const STREAMS = 1000;
const BATCH = 8192;
const BATCHES = 64;
const STEP_MS = 600_000;

function batches(): AdaptiveInput[] {
  let seed = 2024;
  const u = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const clock = new Float64Array(STREAMS).fill(Date.UTC(2024, 0, 1));
  return Array.from({ length: BATCHES }, () => {
    const b = {
      stream: new Int32Array(BATCH),
      time: new Float64Array(BATCH),
      value: new Float64Array(BATCH),
    };
    for (let i = 0; i < BATCH; i++) {
      const s = Math.floor(u() * STREAMS);
      const t = clock[s]! += STEP_MS;
      const daily = s % 3 === 0 ? 10 * Math.sin((2 * Math.PI * (t % 86_400_000)) / 86_400_000) : 0;
      const x = 100 + s + daily + 2 * (u() + u() - 1) + (u() < 0.001 ? 40 : 0);
      b.stream[i] = s;
      b.time[i] = t;
      b.value[i] = u() < 0.002 ? NaN : s % 5 === 0 ? Math.round(x) : x;
    }
    return b;
  });
}

const data = batches();
let sink = 0;

for (
  const [name, detector, n] of [
    ["WasmAdaptiveDetector", new WasmAdaptiveDetector({ maxStreams: STREAMS }), 2000],
    ["ReferenceAdaptiveDetector", new ReferenceAdaptiveDetector({ maxStreams: STREAMS }), 500],
  ] as [string, AdaptiveDetector, number][]
) {
  for (const b of data) detector.process(b, BATCH); // past the warm-up of every stream
  let next = 0;
  Deno.bench({
    name: `${name}: ${BATCH} readings × ${STREAMS} streams`,
    group: "adaptive detector",
    baseline: name.startsWith("Reference"),
    n,
    warmup: n / 10,
    fn() {
      sink += detector.process(data[next++ % BATCHES]!, BATCH).score[BATCH - 1]!;
    },
  });
}

// Keeps `sink` observable so the work cannot be optimised away.
globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.error("adaptive_bench: NaN score");
});
