import {
  type AdaptiveDetector,
  ReferenceAdaptiveDetector,
  WasmAdaptiveDetector,
} from "../engine/mod.ts";
import { BATCH, BATCHES, makeSeasonalBatches, STREAMS } from "./kernel_data.ts";
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

const data = makeSeasonalBatches();
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
