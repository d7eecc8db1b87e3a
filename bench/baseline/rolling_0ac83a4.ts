/**
 * The rolling kernel as it was at 0ac83a4 (before the detection-cost work), for side-by-side
 * benchmarks only: `rolling_0ac83a4.wasm` is that commit's `build/wasm/rolling.wasm`, byte for
 * byte, driven the way `WasmKernel.process` drives it (one `set` per input array, one call,
 * the outputs read in WASM memory). Kept as bytes, not as a worktree, so a benchmark in any
 * later tree measures the same baseline in the same process, interleaved with the current code.
 * @module
 */
import baselineBytes from "./rolling_0ac83a4.wasm" with { type: "bytes" };
import type { KernelInput } from "../../engine/mod.ts";

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
    const module = new WebAssembly.Module(baselineBytes);
    const e = this.#e = new WebAssembly.Instance(module, {
      env: {
        abort(): never {
          throw new Error("baseline rolling kernel aborted");
        },
      },
    }).exports as unknown as Exports;
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
    this.#stream.set(input.stream.subarray(0, n));
    this.#time.set(input.time.subarray(0, n));
    this.#value.set(input.value.subarray(0, n));
    if (this.#e.process(n) !== -1) throw new RangeError("baseline kernel refused a reading");
    return this.#std;
  }
}
