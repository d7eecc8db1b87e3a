/**
 * Vibration feature extraction, WebAssembly against its TypeScript reference, side by side on
 * the same simulated frames: 1024-sample frames at 4 kHz, Hann window, the 7 default bands.
 * One thread, so the figures are per core.
 *
 *   deno task build:wasm && deno bench -A bench/vibration_bench.ts
 *
 * Group "1 frame per call": each iteration extracts one frame, so the `iter/s` column IS
 * frames/s. Group "64 frames per call": each iteration extracts one batch of 64 frames (the
 * extractor's default batchCapacity, one `set` and one kernel call), so frames/s = 64 × iter/s.
 * Each group's summary prints the WASM : reference ratio.
 * @module
 */
import { VibrationSimulator } from "../simulator/vibration_simulator.ts";
import {
  ReferenceVibrationFeatures,
  type VibrationFeatureExtractor,
  WasmVibrationFeatures,
} from "../engine/mod.ts";

const FRAME = 1024;
const BATCH = 64;
const BATCHES = 8;

/** BATCHES batches of 64 machines' frames, faults included (5 % rate, moderate noise). */
function makeBatches(): Float64Array[] {
  const sim = new VibrationSimulator({
    machines: BATCH,
    seed: 2026,
    faultRate: 0.05,
    anomalyLevel: 0.3,
    frameSize: FRAME,
  });
  const out: Float64Array[] = [];
  for (let b = 0; b < BATCHES; b++) out.push(sim.tick(b * sim.frameDurationMs).samples);
  return out;
}

const batches = makeBatches();
/** Every single frame of the batches, as its own array. */
const frames = batches.flatMap((b) =>
  Array.from({ length: BATCH }, (_, i) => b.slice(i * FRAME, (i + 1) * FRAME))
);
const options = { frameSize: FRAME, sampleRate: 4000, batchCapacity: BATCH };
const wasm = new WasmVibrationFeatures(options);
const reference = new ReferenceVibrationFeatures(options);
let sink = 0;

function bench(
  name: string,
  fx: VibrationFeatureExtractor,
  perCall: 1 | typeof BATCH,
  baseline: boolean,
): void {
  let next = 0;
  Deno.bench({
    name: `${name}: ${perCall === 1 ? "1 frame" : `${BATCH} frames`} of ${FRAME} samples`,
    group: `vibration features, ${perCall === 1 ? "1 frame" : `${BATCH} frames`} per call`,
    baseline,
    warmup: 200,
    fn() {
      const rows = perCall === 1
        ? fx.extract(frames[next++ % frames.length]!, 1)
        : fx.extract(batches[next++ % BATCHES]!, BATCH);
      sink += rows[rows.length - 1]!;
    },
  });
}

bench("WasmVibrationFeatures", wasm, 1, false);
bench("ReferenceVibrationFeatures", reference, 1, true);
bench("WasmVibrationFeatures", wasm, BATCH, false);
bench("ReferenceVibrationFeatures", reference, BATCH, true);

// Keeps `sink` observable so the work cannot be optimised away.
globalThis.addEventListener("unload", () => {
  if (Number.isNaN(sink)) console.error("vibration_bench: NaN output");
});
