/**
 * The WebAssembly implementation of {@linkcode Kernel}: a thin TypeScript shell over the
 * AssemblyScript kernel in `assembly/rolling.ts`, compiled to `build/wasm/rolling.wasm` by
 * `deno task build:wasm`.
 *
 * The bytes come in as a Deno raw import (`with { type: "bytes" }`), so loading needs no
 * file-system permission at run time and `deno compile` embeds them in the binary.
 * @module
 */
import wasmBytes from "../../../build/wasm/rolling.wasm" with { type: "bytes" };
import {
  checkBatch,
  checkLimits,
  checkStreamId,
  checkZThreshold,
  copyBatch,
  resolveKernelOptions,
} from "./kernel_options.ts";
import type {
  Kernel,
  KernelInput,
  KernelOptions,
  KernelOutput,
  StreamLimits,
} from "./kernel_types.ts";
import {
  type AssemblyScriptExports,
  assemblyScriptFactory,
  MemoryViews,
} from "../assemblyscript_instance.ts";

/** The exports of `rolling.wasm` (see `assembly/rolling.ts` for each one's contract). */
export interface KernelExports extends AssemblyScriptExports {
  configure(
    maxStreams: number,
    window: number,
    modelSize: number,
    zThreshold: number,
    trendTolerance: number,
    batchCapacity: number,
  ): number;
  setLimits(stream: number, low: number, high: number, maxDelta: number, maxDevPct: number): void;
  setZThreshold(z: number): void;
  resetStream(stream: number): void;
  /** Grows the memory by `pages` (tests only); returns the previous size in pages or -1. */
  testGrowMemory(pages: number): number;
  /** Streams whose state is allocated so far: 64 at first, doubled (at most maxStreams) when a
   * stream id passes it, so the memory follows the streams in use. */
  streamCapacity(): number;
  /** Runs the batch; -1 when done, else the index of the first bad reading (nothing done). */
  process(n: number): number;
}

/** Indices of the module's arrays for `ptr` (`enum R` of assembly/rolling.ts). */
export const ROLLING_ARRAYS = Object.freeze({
  inStream: 0,
  inTime: 1,
  inValue: 2,
  /** Output k (0 mean … 9 completeness, f64; 10 flags, u32) is array `out + k`. */
  out: 3,
});

/** A fresh kernel instance (own memory) whose `env.abort` throws a JS `Error`. */
const instantiate = assemblyScriptFactory<KernelExports>(wasmBytes);

interface Views {
  stream: Int32Array;
  time: Float64Array;
  value: Float64Array;
  out: Float64Array[];
  flags: Uint32Array;
  /** The last result handed out and its length: a batch of the same length reuses its 11
   * views instead of allocating new ones (they show the new contents). */
  result?: KernelOutput;
  resultLength?: number;
}

/**
 * The fused rolling-statistics kernel in WebAssembly. Each instance owns its own WASM
 * instance and memory, so several kernels can coexist; all state lives in that memory: the
 * batch arrays allocated at construction, the per-stream state for 64 streams at first and
 * grown (doubling, up to `maxStreams`) when a higher stream id arrives.
 *
 * @example
 * ```ts
 * const kernel = new WasmKernel({ maxStreams: 16, window: 5 });
 * const out = kernel.process({ stream, time, value }, n); // views, valid until the next call
 * ```
 */
export class WasmKernel implements Kernel {
  #options: Readonly<Required<KernelOptions>>;
  readonly #exports: KernelExports;
  readonly #views: MemoryViews<Views>;

  /** Validates the options (a `RangeError` names a bad one) and allocates the first state. */
  constructor(options: KernelOptions = {}) {
    const o = resolveKernelOptions(options);
    this.#options = Object.freeze(o);
    this.#exports = instantiate();
    this.#exports.configure(
      o.maxStreams,
      o.window,
      o.modelSize,
      o.zThreshold,
      o.trendTolerance,
      o.batchCapacity,
    );
    const cap = o.batchCapacity;
    const a = ROLLING_ARRAYS;
    this.#views = new MemoryViews(this.#exports, (v) => ({
      stream: v.i32(a.inStream, cap),
      time: v.f64(a.inTime, cap),
      value: v.f64(a.inValue, cap),
      out: Array.from({ length: 10 }, (_, k) => v.f64(a.out + k, cap)),
      flags: v.u32(a.out + 10, cap),
    }));
  }

  /** The options in force (`zThreshold` follows {@linkcode WasmKernel.setZThreshold}). */
  get options(): Readonly<Required<KernelOptions>> {
    return this.#options;
  }

  /**
   * The raw WASM exports: for tests and benchmarks only (e.g. to provoke an abort or grow the
   * memory). Calling them can break this object's invariants.
   * @internal
   */
  get rawExports(): KernelExports {
    return this.#exports;
  }

  /** Sets the limits of one stream (all NaN until set). */
  setLimits(stream: number, limits: StreamLimits): void {
    checkStreamId(stream, this.#options.maxStreams);
    checkLimits(limits);
    this.#exports.setLimits(
      stream,
      limits.low,
      limits.high,
      limits.maxDelta,
      limits.maxDeviationPct,
    );
  }

  /** Changes the z threshold for the following batches. */
  setZThreshold(z: number): void {
    checkZThreshold(z);
    this.#exports.setZThreshold(z);
    this.#options = Object.freeze({ ...this.#options, zThreshold: z });
  }

  /** Forgets a stream's window, model and previous value (its limits stay). */
  resetStream(stream: number): void {
    checkStreamId(stream, this.#options.maxStreams);
    this.#exports.resetStream(stream);
  }

  /**
   * Processes `input` readings `0…n-1` in one WASM call. The result's arrays are views of
   * length `n` over WASM memory, valid until the next call. Throws a `RangeError` naming the
   * value for a bad `n`, stream id or non-finite value, before any state changes.
   */
  process(input: KernelInput, n: number): KernelOutput {
    checkBatch(input, n, this.#options.batchCapacity);
    const { stream, value } = input;
    let v = this.#views.current;
    copyBatch(v, input, n);
    const bad = this.#exports.process(n);
    if (bad !== -1) {
      const s = stream[bad]!;
      const max = this.#options.maxStreams;
      if (!(s >= 0 && s < max)) {
        throw new RangeError(
          `stream id must be an integer in 0…${max - 1}, got ${s} (reading ${bad})`,
        );
      }
      throw new RangeError(`value at reading ${bad} must be finite, got ${value[bad]}`);
    }
    v = this.#views.current;
    if (v.resultLength === n && v.result) return v.result;
    const o = v.out;
    v.resultLength = n;
    return v.result = {
      mean: o[0]!.subarray(0, n),
      std: o[1]!.subarray(0, n),
      min: o[2]!.subarray(0, n),
      max: o[3]!.subarray(0, n),
      slope: o[4]!.subarray(0, n),
      zscore: o[5]!.subarray(0, n),
      delta: o[6]!.subarray(0, n),
      rate: o[7]!.subarray(0, n),
      deviation: o[8]!.subarray(0, n),
      completeness: o[9]!.subarray(0, n),
      flags: v.flags.subarray(0, n),
    };
  }
}
