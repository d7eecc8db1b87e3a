/**
 * The WebAssembly adaptive detector: a thin TypeScript shell over `assembly/adaptive.ts`,
 * compiled to `build/wasm/adaptive.wasm` by `deno task build:wasm`. The algorithm is the study's
 * in docs/detector.md, specified by adaptive_reference.ts, which this agrees with bit
 * for bit.
 *
 * The bytes come in as a Deno raw import (`with { type: "bytes" }`), so loading needs no
 * file-system permission at run time and `deno compile` embeds them in the binary. A batch is
 * three `set`s into WASM memory, one call, and views of the outputs.
 * @module
 */
import wasmBytes from "../../../build/wasm/adaptive.wasm" with { type: "bytes" };
import { checkBatch, checkStreamId, copyBatch } from "../rolling/kernel_options.ts";
import {
  type AssemblyScriptExports,
  assemblyScriptFactory,
  MemoryViews,
} from "../assemblyscript_instance.ts";
import {
  type AdaptiveDetector,
  type AdaptiveInput,
  type AdaptiveOptions,
  type AdaptiveOutput,
  checkReadings,
  halfLifeGain,
  resolveAdaptiveOptions,
  type ResolvedAdaptiveOptions,
} from "./adaptive_types.ts";

/** The exports of `adaptive.wasm` (see `assembly/adaptive.ts` for each one's contract). */
export interface AdaptiveExports extends AssemblyScriptExports {
  configure(...options: number[]): number;
  resetStream(stream: number): void;
  /** Grows the memory by `pages` (tests only); returns the previous size in pages or -1. */
  testGrowMemory(pages: number): number;
  /** Streams whose state is allocated so far: 64 at first, doubled (at most maxStreams) when a
   * stream id passes it, so the memory follows the streams in use. */
  streamCapacity(): number;
  /** Runs the batch; -1 when done, else the index of the first bad reading (nothing done). */
  process(n: number): number;
}

/** Indices of the module's arrays for `ptr` (`enum R` of assembly/adaptive.ts). */
export const ADAPTIVE_ARRAYS = Object.freeze({
  stream: 0,
  time: 1,
  value: 2,
  score: 3,
  level: 4,
  scale: 5,
  flags: 6,
});

/**
 * `configure`'s arguments, in its order, from resolved options (exported for
 * bench/baseline/kernels_0ac83a4.ts, which configures the 0ac83a4 module with the same order).
 *
 * @example
 * ```ts
 * exports.configure(...configureArguments(resolveAdaptiveOptions({ maxStreams: 64 })));
 * ```
 */
export function configureArguments(o: ResolvedAdaptiveOptions): number[] {
  return [
    o.maxStreams,
    o.batchCapacity,
    o.warmup,
    halfLifeGain(o.fastHalfLife),
    halfLifeGain(o.midHalfLife),
    halfLifeGain(o.slowHalfLife),
    halfLifeGain(o.scaleHalfLife),
    o.clipK,
    o.zSpike,
    o.zShift,
    o.onDelay,
    o.offDelay,
    o.clearLevel,
    o.acceptAfter,
    o.season === "auto" ? o.seasonBins : 0,
    o.seasonGain,
    o.seasonVisitGain,
    o.quantumFloor,
  ];
}

const instantiate = assemblyScriptFactory<AdaptiveExports>(wasmBytes);

interface Views {
  stream: Int32Array;
  time: Float64Array;
  value: Float64Array;
  out: AdaptiveOutput;
  /** The last result handed out: a batch of the same length reuses its views. */
  result?: AdaptiveOutput;
}

/**
 * The adaptive detector in WebAssembly. Each instance owns its WASM instance and memory, all
 * allocated at construction, so several detectors coexist.
 *
 * @example
 * ```ts
 * const d = new WasmAdaptiveDetector({ maxStreams: 64 });
 * const out = d.process({ stream, time, value }, n); // views, valid until the next call
 * for (let i = 0; i < n; i++) if (out.flags[i]! & ADAPTIVE_FLAG.RAISE) alarm(stream[i]!);
 * ```
 */
export class WasmAdaptiveDetector implements AdaptiveDetector {
  readonly options: ResolvedAdaptiveOptions;
  readonly #exports: AdaptiveExports;
  readonly #views: MemoryViews<Views>;

  /** Validates the options (a `RangeError` names a bad one) and allocates the batch arrays
   * and the state of 64 streams (grown, doubling up to `maxStreams`, as higher ids arrive). */
  constructor(options: AdaptiveOptions = {}) {
    const o = this.options = resolveAdaptiveOptions(options);
    const e = this.#exports = instantiate();
    e.configure(...configureArguments(o));
    const cap = o.batchCapacity;
    const a = ADAPTIVE_ARRAYS;
    this.#views = new MemoryViews(e, (v) => ({
      stream: v.i32(a.stream, cap),
      time: v.f64(a.time, cap),
      value: v.f64(a.value, cap),
      out: {
        score: v.f64(a.score, cap),
        level: v.f64(a.level, cap),
        scale: v.f64(a.scale, cap),
        flags: v.u32(a.flags, cap),
      },
    }));
  }

  /**
   * The raw WASM exports: for tests and benchmarks only (e.g. to provoke an abort or grow the
   * memory). Calling them can break this object's invariants.
   * @internal
   */
  get rawExports(): AdaptiveExports {
    return this.#exports;
  }

  /** See {@linkcode AdaptiveDetector.resetStream}. */
  resetStream(stream: number): void {
    this.#exports.resetStream(checkStreamId(stream, this.options.maxStreams));
  }

  /** See {@linkcode AdaptiveDetector.process}; the result's arrays are views over WASM memory. */
  process(input: AdaptiveInput, n: number): AdaptiveOutput {
    checkBatch(input, n, this.options.batchCapacity);
    let v = this.#views.current;
    copyBatch(v, input, n);
    const bad = this.#exports.process(n);
    if (bad !== -1) {
      checkReadings(input, n, this.options.maxStreams); // names the first bad reading
      throw new RangeError(`reading ${bad} refused by the kernel`); // (unreachable)
    }
    v = this.#views.current;
    const r = v.result;
    if (r?.score.length === n) return r;
    const o = v.out;
    return v.result = {
      score: o.score.subarray(0, n),
      level: o.level.subarray(0, n),
      scale: o.scale.subarray(0, n),
      flags: o.flags.subarray(0, n),
    };
  }
}
