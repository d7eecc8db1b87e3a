/**
 * The WebAssembly vibration feature extractor: a thin TypeScript shell over
 * `assembly/vibration.ts`, compiled to `build/wasm/vibration.wasm` by `deno task build:wasm`.
 *
 * The bytes come in as a Deno raw import (`with { type: "bytes" }`), so loading needs no
 * file-system permission and `deno compile` embeds them.
 * @module
 */
import wasmBytes from "../../../build/wasm/vibration.wasm" with { type: "bytes" };
import {
  badFrameError,
  checkExtract,
  type ResolvedVibrationOptions,
  resolveVibrationOptions,
  type VibrationFeatureExtractor,
  type VibrationFeatureOptions,
} from "./vibration_types.ts";
import { instantiateAssemblyScript } from "../assemblyscript_instance.ts";

/** The exports of `vibration.wasm` (see `assembly/vibration.ts` for each one's contract). */
export interface VibrationExports {
  readonly memory: WebAssembly.Memory;
  configure(
    frameSize: number,
    sampleRate: number,
    bandCount: number,
    hann: number,
    batchCapacity: number,
  ): number;
  bandEdgesPtr(): number;
  inPtr(): number;
  outPtr(): number;
  /** -1 when every band is valid, else the index of the first bad one. */
  setBands(): number;
  /** Grows the memory by `pages` (tests only); returns the previous size in pages or -1. */
  testGrowMemory(pages: number): number;
  /** -1 when done, else the index of the first frame with a non-finite sample. */
  process(frames: number): number;
}

// Compiled once per process; each extractor gets its own instance and memory.
let compiled: WebAssembly.Module | undefined;

/** A fresh instance (own memory) whose `abort` throws a JS `Error` with the kernel's message. */
function instantiate(): VibrationExports {
  compiled ??= new WebAssembly.Module(wasmBytes);
  return instantiateAssemblyScript<VibrationExports>(compiled);
}

interface Views {
  buffer: ArrayBufferLike;
  input: Float64Array;
  output: Float64Array;
}

/**
 * Vibration features in WebAssembly. Each instance owns its WASM instance and memory, all
 * allocated at construction. One `extract` call copies the frames in with one `set`, makes one
 * kernel call and returns a view of the rows.
 *
 * @example
 * ```ts
 * const fx = new WasmVibrationFeatures({ frameSize: 1024, sampleRate: 4000 });
 * const rows = fx.extract(samples, 4); // view: 4 rows of fx.width values, until the next call
 * ```
 */
export class WasmVibrationFeatures implements VibrationFeatureExtractor {
  readonly options: ResolvedVibrationOptions;
  readonly width: number;
  readonly #exports: VibrationExports;
  #views: Views | undefined;

  /** Validates the options (a `RangeError` names a bad one) and allocates all state. */
  constructor(options: VibrationFeatureOptions = {}) {
    const o = resolveVibrationOptions(options);
    this.options = o;
    this.width = o.featureNames.length;
    const e = instantiate();
    this.#exports = e;
    e.configure(
      o.frameSize,
      o.sampleRate,
      o.bands.length,
      o.window === "hann" ? 1 : 0,
      o.batchCapacity,
    );
    new Float64Array(e.memory.buffer, e.bandEdgesPtr(), 2 * o.bands.length).set(o.bands.flat());
    const bad = e.setBands();
    if (bad !== -1) {
      // resolveVibrationOptions accepted it: the two bin computations disagree.
      throw new RangeError(`bands[${bad}] = ${JSON.stringify(o.bands[bad])} refused by the kernel`);
    }
  }

  /**
   * The raw WASM exports, for tests only (e.g. to grow the memory). Calling them can break this
   * object's invariants.
   * @internal
   */
  get rawExports(): VibrationExports {
    return this.#exports;
  }

  /** Views over the input and output areas, rebuilt only when the memory's buffer changed. */
  #currentViews(): Views {
    const buffer = this.#exports.memory.buffer;
    if (this.#views?.buffer === buffer) return this.#views;
    const o = this.options;
    const views: Views = {
      buffer,
      input: new Float64Array(buffer, this.#exports.inPtr(), o.batchCapacity * o.frameSize),
      output: new Float64Array(buffer, this.#exports.outPtr(), o.batchCapacity * this.width),
    };
    this.#views = views;
    return views;
  }

  /** See {@linkcode VibrationFeatureExtractor.extract}; the result is a view over WASM memory. */
  extract(samples: Float64Array, frames: number): Float64Array {
    checkExtract(samples, frames, this.options);
    const count = frames * this.options.frameSize;
    this.#currentViews().input.set(samples.length === count ? samples : samples.subarray(0, count));
    const bad = this.#exports.process(frames);
    if (bad !== -1) throw badFrameError(samples, bad, this.options.frameSize);
    return this.#currentViews().output.subarray(0, frames * this.width);
  }
}
