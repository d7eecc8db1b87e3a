/**
 * The rolling kernel and the adaptive detector as they were at 0ac83a4 (before the
 * detection-cost work), for side-by-side benchmarks only: `rolling_0ac83a4.wasm` and
 * `adaptive_0ac83a4.wasm` are that commit's `build/wasm/` files, byte for byte, driven the way
 * `WasmKernel.process` and `WasmAdaptiveDetector.process` drive them (one `set` per input array,
 * one call, the outputs read in WASM memory). Kept as bytes, not as a worktree, so a benchmark in
 * any later tree measures the same baseline in the same process, interleaved with today's code.
 * @module
 */
import baselineBytes from "./rolling_0ac83a4.wasm" with { type: "bytes" };
import adaptiveBytes from "./adaptive_0ac83a4.wasm" with { type: "bytes" };
import type { KernelInput } from "../../engine/mod.ts";
import { resolveAdaptiveOptions } from "../../engine/kernels/adaptive/adaptive_types.ts";
import { configureArguments } from "../../engine/kernels/adaptive/adaptive_wasm.ts";
import { copyBatch } from "../../engine/kernels/rolling/kernel_options.ts";

/** A fresh instance of `bytes` whose `abort` throws (the baselines never abort on good input). */
function instantiate<T>(bytes: Uint8Array<ArrayBuffer>): T {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      abort(): never {
        throw new Error("baseline kernel aborted");
      },
    },
  }).exports as T;
}

interface Exports {
  memory: WebAssembly.Memory;
  ptr(k: number): number;
  configure(s: number, w: number, m: number, z: number, tol: number, cap: number): number;
  setLimits(s: number, low: number, high: number, maxDelta: number, maxDevPct: number): void;
  process(n: number): number;
}

/**
 * The 0ac83a4 rolling kernel: `process` returns the std output array (the bench reads one value
 * of it so the call cannot be elided).
 *
 * @example
 * ```ts
 * const k = new BaselineRollingKernel({ maxStreams: 1000, window: 5, modelSize: 100, batchCapacity: 8192 });
 * const std = k.process({ stream, time, value }, n);
 * ```
 */
export class BaselineRollingKernel {
  readonly #e: Exports;
  readonly #stream: Int32Array;
  readonly #time: Float64Array;
  readonly #value: Float64Array;
  readonly #std: Float64Array;

  /** Instantiates and configures the old module (z threshold 3, trend tolerance 0.01). */
  constructor(o: { maxStreams: number; window: number; modelSize: number; batchCapacity: number }) {
    const e = this.#e = instantiate<Exports>(baselineBytes);
    e.configure(o.maxStreams, o.window, o.modelSize, 3, 0.01, o.batchCapacity);
    const buf = e.memory.buffer;
    const cap = o.batchCapacity;
    this.#stream = new Int32Array(buf, e.ptr(0), cap);
    this.#time = new Float64Array(buf, e.ptr(1), cap);
    this.#value = new Float64Array(buf, e.ptr(2), cap);
    this.#std = new Float64Array(buf, e.ptr(3 + 1), cap);
  }

  /** Sets one stream's limits (as `WasmKernel.setLimits`). */
  setLimits(
    s: number,
    l: { low: number; high: number; maxDelta: number; maxDeviationPct: number },
  ) {
    this.#e.setLimits(s, l.low, l.high, l.maxDelta, l.maxDeviationPct);
  }

  /** Runs readings 0…n-1; returns the std outputs (a view over WASM memory). */
  process(input: KernelInput, n: number): Float64Array {
    copyBatch({ stream: this.#stream, time: this.#time, value: this.#value }, input, n);
    if (this.#e.process(n) !== -1) throw new RangeError("baseline kernel refused a reading");
    return this.#std;
  }
}

interface AdaptiveExports {
  memory: WebAssembly.Memory;
  ptr(k: number): number;
  configure(...options: number[]): number;
  process(n: number): number;
}

/**
 * The 0ac83a4 adaptive detector with default options (seasonality auto): `process` returns the
 * score outputs.
 *
 * @example
 * ```ts
 * const d = new BaselineAdaptiveDetector(1000, 8192);
 * const score = d.process({ stream, time, value }, n);
 * ```
 */
export class BaselineAdaptiveDetector {
  readonly #e: AdaptiveExports;
  readonly #stream: Int32Array;
  readonly #time: Float64Array;
  readonly #value: Float64Array;
  readonly #score: Float64Array;

  /** Instantiates and configures the old module as `WasmAdaptiveDetector` did then. */
  constructor(maxStreams: number, batchCapacity: number) {
    const o = resolveAdaptiveOptions({ maxStreams, batchCapacity });
    const e = this.#e = instantiate<AdaptiveExports>(adaptiveBytes);
    // 0ac83a4's configure takes today's argument list; pin the old list here if that changes.
    e.configure(...configureArguments(o));
    const buf = e.memory.buffer;
    this.#stream = new Int32Array(buf, e.ptr(0), batchCapacity);
    this.#time = new Float64Array(buf, e.ptr(1), batchCapacity);
    this.#value = new Float64Array(buf, e.ptr(2), batchCapacity);
    this.#score = new Float64Array(buf, e.ptr(3), batchCapacity);
  }

  /** Runs readings 0…n-1; returns the scores (a view over WASM memory). */
  process(input: KernelInput, n: number): Float64Array {
    copyBatch({ stream: this.#stream, time: this.#time, value: this.#value }, input, n);
    if (this.#e.process(n) !== -1) throw new RangeError("baseline detector refused a reading");
    return this.#score;
  }
}
