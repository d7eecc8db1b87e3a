/**
 * The per-slice detection cost against the rolling kernel of 0ac83a4, side by side in one
 * process: interleaved rounds (the order rotates each round), each round one pass of every
 * contestant over the 64 batches of bench/kernel_data.ts, timed in CPU time
 * (`process.cpuUsage`, user + system) and wall time. The machine is shared, so the figures that
 * mean something are the per-round ratios to the baseline and the medians / minima over rounds.
 *
 *   deno task build:wasm && deno run -A bench/slice_cost.ts [ROUNDS]
 *
 * Contestants (all warmed past the adaptive warm-up first):
 * - `old rolling`: bench/baseline/rolling_0ac83a4.wasm (the reference);
 * - `rolling`: today's `WasmKernel`;
 * - `adaptive`: today's `WasmAdaptiveDetector` alone;
 * - `rolling + adaptive`: the analyzer's per-slice detection, both calls on the same batch.
 * @module
 */
import process from "node:process";
import { WasmAdaptiveDetector, WasmKernel } from "../engine/mod.ts";
import { BaselineRollingKernel } from "./baseline/rolling_0ac83a4.ts";
import { BATCH, BATCHES, LIMITS, makeBatches, OPTIONS, STREAMS } from "./kernel_data.ts";

const rounds = Number(Deno.args[0] ?? 30);
const batches = makeBatches();
let sink = 0;

const old = new BaselineRollingKernel(OPTIONS);
const rolling = new WasmKernel(OPTIONS);
const paired = new WasmKernel(OPTIONS);
const alone = new WasmAdaptiveDetector({ maxStreams: STREAMS, batchCapacity: BATCH });
const adaptive = new WasmAdaptiveDetector({ maxStreams: STREAMS, batchCapacity: BATCH });
for (let s = 0; s < STREAMS; s++) {
  old.setLimits(s, LIMITS);
  rolling.setLimits(s, LIMITS);
  paired.setLimits(s, LIMITS);
}

const contestants: [string, (i: number) => void][] = [
  ["old rolling (0ac83a4)", (i) => void (sink += old.process(batches[i]!, BATCH)[BATCH - 1]!)],
  ["rolling", (i) => void (sink += rolling.process(batches[i]!, BATCH).std[BATCH - 1]!)],
  ["adaptive", (i) => void (sink += alone.process(batches[i]!, BATCH).score[BATCH - 1]!)],
  ["rolling + adaptive", (i) => {
    const b = batches[i]!;
    sink += paired.process(b, BATCH).std[BATCH - 1]! + adaptive.process(b, BATCH).score[BATCH - 1]!;
  }],
];
for (let w = 0; w < 2; w++) {
  for (const [, run] of contestants) for (let i = 0; i < BATCHES; i++) run(i);
}

const cpu: number[][] = contestants.map(() => []);
const wall: number[][] = contestants.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < contestants.length; k++) {
    const c = (k + r) % contestants.length;
    const run = contestants[c]![1];
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < BATCHES; i++) run(i);
    const t1 = performance.now();
    const u1 = process.cpuUsage(u0);
    cpu[c]!.push((u1.user + u1.system) / BATCHES);
    wall[c]!.push((t1 - t0) * 1000 / BATCHES);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f = (x: number) => x.toFixed(1).padStart(7);
console.log(`${rounds} interleaved rounds of ${BATCHES} batches × ${BATCH} readings, µs per batch`);
console.log(
  "contestant                 cpu median  cpu min  wall median  wall min  ratio (cpu median of per-round ratios)",
);
for (let c = 0; c < contestants.length; c++) {
  const ratios = cpu[c]!.map((x, r) => x / cpu[0]![r]!);
  const wr = wall[c]!.map((x, r) => x / wall[0]![r]!);
  console.log(
    `${contestants[c]![0].padEnd(26)} ${f(median(cpu[c]!))}  ${f(Math.min(...cpu[c]!))}  ${
      f(median(wall[c]!))
    }   ${f(Math.min(...wall[c]!))}   ${median(ratios).toFixed(2)}× (wall ${
      median(wr).toFixed(2)
    }×)`,
  );
}
if (Number.isNaN(sink)) console.error("slice_cost: NaN output");
