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
  resolveKernelOptions,
} from "./kernel_options.ts";
import type {
  Kernel,
  KernelInput,
  KernelOptions,
  KernelOutput,
  StreamLimits,
} from "./kernel_types.ts";
import { instantiateAssemblyScript } from "../assemblyscript_instance.ts";

/** The exports of `kernel.wasm` (see `assembly/rolling.ts` for each one's contract). */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  configure(
    maxStreams: number,
    window: number,
    modelSize: number,
    zThreshold: number,
    trendTolerance: number,
    batchCapacity: number,
  ): number;
  inStreamPtr(): number;
  inTimePtr(): number;
  inValuePtr(): number;
  /** 0 mean … 9 completeness (f64), 10 flags (u32). */
  outPtr(k: number): number;
  setLimits(stream: number, low: number, high: number, maxDelta: number, maxDevPct: number): void;
  setZThreshold(z: number): void;
  resetStream(stream: number): void;
  /** Grows the memory by `pages` (tests only); returns the previous size in pages or -1. */
  testGrowMemory(pages: number): number;
  /** Runs the batch; -1 when done, else the index of the first bad reading (nothing done). */
  process(n: number): number;
}

// Compiled once per process (the costly part); each kernel gets its own instance and memory.
let compiled: WebAssembly.Module | undefined;

/** The compiled kernel module, compiled synchronously on first use. */
function kernelModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(wasmBytes);
}

/** A fresh kernel instance (own memory) whose `env.abort` throws a JS `Error`. */
function instantiate(): KernelExports {
  return instantiateAssemblyScript<KernelExports>(kernelModule());
}

interface Views {
  buffer: ArrayBufferLike;
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
 * instance and memory, so several kernels can coexist; all state lives in that memory,
 * allocated once at construction.
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
  #views: Views | undefined;

  /** Validates the options (a `RangeError` names a bad one) and allocates all state. */
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

  /** Typed-array views over the WASM memory, rebuilt only when the buffer changed (growth). */
  #currentViews(): Views {
    const buffer = this.#exports.memory.buffer;
    if (this.#views?.buffer === buffer) return this.#views;
    const cap = this.#options.batchCapacity;
    const e = this.#exports;
    const out: Float64Array[] = [];
    for (let k = 0; k < 10; k++) out.push(new Float64Array(buffer, e.outPtr(k), cap));
    const views: Views = {
      buffer,
      stream: new Int32Array(buffer, e.inStreamPtr(), cap),
      time: new Float64Array(buffer, e.inTimePtr(), cap),
      value: new Float64Array(buffer, e.inValuePtr(), cap),
      out,
      flags: new Uint32Array(buffer, e.outPtr(10), cap),
    };
    this.#views = views;
    return views;
  }

  /**
   * Processes `input` readings `0…n-1` in one WASM call. The result's arrays are views of
   * length `n` over WASM memory, valid until the next call. Throws a `RangeError` naming the
   * value for a bad `n`, stream id or non-finite value, before any state changes.
   */
  process(input: KernelInput, n: number): KernelOutput {
    checkBatch(input, n, this.#options.batchCapacity);
    const { stream, time, value } = input;
    let v = this.#currentViews();
    v.stream.set(stream.length === n ? stream : stream.subarray(0, n));
    v.time.set(time.length === n ? time : time.subarray(0, n));
    v.value.set(value.length === n ? value : value.subarray(0, n));
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
    v = this.#currentViews();
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
