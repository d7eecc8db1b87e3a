/**
 * The per-slice detection cost against the rolling kernel of 0ac83a4, side by side in one
 * process: interleaved rounds (the order rotates each round), each round one pass of every
 * contestant over the 64 batches of a workload, timed in CPU time (`process.cpuUsage`, user +
 * system) and wall time. The machine is shared, so the figures that mean something are the
 * per-round ratios to the baseline and the medians / minima over rounds.
 *
 *   deno task build:wasm && deno run -A bench/slice_cost.ts [ROUNDS=30] [kernel|seasonal]
 *
 * Workloads (bench/kernel_data.ts): `kernel` is bench/kernel_bench.ts's (one reading a second
 * per stream, no seasonality in use), `seasonal` bench/adaptive_bench.ts's (10-minute readings,
 * daily profiles in use, 0.2 % gaps: the rolling kernel gets the stream's base level there,
 * as it refuses NaN). Contestants, each with its own instances, all warmed first:
 * - `old rolling`: bench/baseline/rolling_0ac83a4.wasm, the reference (1.00×);
 * - `old rolling + old adaptive`: both 0ac83a4 modules, the per-slice cost before this work;
 * - `old adaptive`: the 0ac83a4 adaptive detector alone;
 * - `rolling`, `adaptive`: today's `WasmKernel`, `WasmAdaptiveDetector`, alone;
 * - `rolling + adaptive`: today's per-slice detection, the analyzer's two calls on one batch.
 * @module
 */
import process from "node:process";
import { type KernelInput, WasmAdaptiveDetector, WasmKernel } from "../engine/mod.ts";
import { BaselineAdaptiveDetector, BaselineRollingKernel } from "./baseline/kernels_0ac83a4.ts";
import {
  BATCH,
  BATCHES,
  LIMITS,
  makeBatches,
  makeSeasonalBatches,
  OPTIONS,
  STREAMS,
} from "./kernel_data.ts";

const rounds = Number(Deno.args[0] ?? 30);
const workload = Deno.args[1] ?? "kernel";
if (!(rounds >= 1) || (workload !== "kernel" && workload !== "seasonal")) {
  console.error(`slice_cost: usage: [ROUNDS >= 1] [kernel|seasonal], got ${Deno.args.join(" ")}`);
  Deno.exit(2);
}
const batches = workload === "kernel" ? makeBatches() : makeSeasonalBatches();
// The rolling kernel's input: gaps replaced by the stream's base level (it refuses NaN).
const kernelBatches: KernelInput[] = batches.map((b) => ({
  ...b,
  value: b.value.map((x, i) => Number.isFinite(x) ? x : 100 + b.stream[i]!),
}));
let sink = 0;

const oldAlone = new BaselineRollingKernel(OPTIONS);
const oldPaired = new BaselineRollingKernel(OPTIONS);
const oldAdaptive = new BaselineAdaptiveDetector(STREAMS, BATCH);
const oldAdaptiveAlone = new BaselineAdaptiveDetector(STREAMS, BATCH);
const rolling = new WasmKernel(OPTIONS);
const paired = new WasmKernel(OPTIONS);
const alone = new WasmAdaptiveDetector({ maxStreams: STREAMS, batchCapacity: BATCH });
const adaptive = new WasmAdaptiveDetector({ maxStreams: STREAMS, batchCapacity: BATCH });
for (let s = 0; s < STREAMS; s++) {
  for (const k of [oldAlone, oldPaired, rolling, paired]) k.setLimits(s, LIMITS);
}

const contestants: [string, (i: number) => void][] = [
  ["old rolling (0ac83a4)", (i) => {
    sink += oldAlone.process(kernelBatches[i]!, BATCH)[BATCH - 1]!;
  }],
  ["old rolling + old adaptive", (i) => {
    sink += oldPaired.process(kernelBatches[i]!, BATCH)[BATCH - 1]! +
      oldAdaptive.process(batches[i]!, BATCH)[BATCH - 1]!;
  }],
  ["old adaptive", (i) => {
    sink += oldAdaptiveAlone.process(batches[i]!, BATCH)[BATCH - 1]!;
  }],
  ["rolling", (i) => {
    sink += rolling.process(kernelBatches[i]!, BATCH).std[BATCH - 1]!;
  }],
  ["adaptive", (i) => {
    sink += alone.process(batches[i]!, BATCH).score[BATCH - 1]!;
  }],
  ["rolling + adaptive", (i) => {
    sink += paired.process(kernelBatches[i]!, BATCH).std[BATCH - 1]! +
      adaptive.process(batches[i]!, BATCH).score[BATCH - 1]!;
  }],
];
// Warm-up: two passes, past every stream's adaptive warm-up (~520 readings a stream a pass).
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
const f = (x: number) => x.toFixed(1).padStart(8);
console.log(
  `${workload} workload, ${rounds} interleaved rounds of ${BATCHES} batches × ${BATCH} readings ` +
    `(${STREAMS} streams), µs per batch; ratio = median over rounds of (contestant / old rolling)`,
);
console.log(
  `${"contestant".padEnd(28)}${"cpu median".padStart(11)}${"cpu min".padStart(9)}` +
    `${"wall median".padStart(12)}${"wall min".padStart(9)}   ratio cpu (wall)`,
);
for (let c = 0; c < contestants.length; c++) {
  const ratio = median(cpu[c]!.map((x, r) => x / cpu[0]![r]!));
  const wallRatio = median(wall[c]!.map((x, r) => x / wall[0]![r]!));
  console.log(
    `${contestants[c]![0].padEnd(28)}${f(median(cpu[c]!))}  ${f(Math.min(...cpu[c]!))}    ${
      f(median(wall[c]!))
    } ${f(Math.min(...wall[c]!))}   ${ratio.toFixed(2)}× (${wallRatio.toFixed(2)}×)`,
  );
}
if (Number.isNaN(sink)) console.error("slice_cost: NaN output");
