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
import {
  type AssemblyScriptExports,
  assemblyScriptFactory,
  MemoryViews,
} from "../assemblyscript_instance.ts";

/** The exports of `vibration.wasm` (see `assembly/vibration.ts` for each one's contract). */
export interface VibrationExports extends AssemblyScriptExports {
  configure(
    frameSize: number,
    sampleRate: number,
    bandCount: number,
    hann: number,
    batchCapacity: number,
  ): number;
  /** -1 when every band is valid, else the index of the first bad one. */
  setBands(): number;
  /** Grows the memory by `pages` (tests only); returns the previous size in pages or -1. */
  testGrowMemory(pages: number): number;
  /** -1 when done, else the index of the first frame with a non-finite sample. */
  process(frames: number): number;
}

/** Indices of the module's arrays for `ptr` (`enum R` of assembly/vibration.ts). */
const A = Object.freeze({ input: 0, output: 1, bandEdges: 2 });

/** A fresh instance (own memory) whose `abort` throws a JS `Error` with the kernel's message. */
const instantiate = assemblyScriptFactory<VibrationExports>(wasmBytes);

interface Views {
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
  readonly #views: MemoryViews<Views>;

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
    new MemoryViews(e, (v) => v.f64(A.bandEdges, 2 * o.bands.length)).current.set(o.bands.flat());
    const bad = e.setBands();
    if (bad !== -1) {
      // resolveVibrationOptions accepted it: the two bin computations disagree.
      throw new RangeError(`bands[${bad}] = ${JSON.stringify(o.bands[bad])} refused by the kernel`);
    }
    this.#views = new MemoryViews(e, (v) => ({
      input: v.f64(A.input, o.batchCapacity * o.frameSize),
      output: v.f64(A.output, o.batchCapacity * this.width),
    }));
  }

  /**
   * The raw WASM exports, for tests only (e.g. to grow the memory). Calling them can break this
   * object's invariants.
   * @internal
   */
  get rawExports(): VibrationExports {
    return this.#exports;
  }

  /** See {@linkcode VibrationFeatureExtractor.extract}; the result is a view over WASM memory. */
  extract(samples: Float64Array, frames: number): Float64Array {
    checkExtract(samples, frames, this.options);
    const count = frames * this.options.frameSize;
    this.#views.current.input.set(samples.length === count ? samples : samples.subarray(0, count));
    const bad = this.#exports.process(frames);
    if (bad !== -1) throw badFrameError(samples, bad, this.options.frameSize);
    return this.#views.current.output.subarray(0, frames * this.width);
  }
}
