/**
 * Defaults and validation of {@linkcode KernelOptions}, shared by the WebAssembly kernel and
 * its TypeScript reference so both accept and refuse exactly the same options.
 * @module
 */
import type { KernelInput, KernelOptions, StreamLimits } from "./kernel_types.ts";

/** The defaults documented on {@linkcode KernelOptions}. */
export const KERNEL_DEFAULTS: Readonly<Required<KernelOptions>> = Object.freeze({
  maxStreams: 4096,
  window: 5,
  modelSize: 100,
  zThreshold: 3,
  trendTolerance: 0.01,
  batchCapacity: 8192,
});

/** Largest accepted integer options (the AssemblyScript `configure` checks the same bounds). */
export const KERNEL_MAX = Object.freeze({
  maxStreams: 1 << 22,
  window: 65536,
  modelSize: 65536,
  batchCapacity: 1 << 22,
});

/** The kernel state may not exceed this many bytes: the WASM `configure` refuses more than
 * 2 GiB including its tables, and the 16 MiB left over covers those (≤ 2 MiB), alignment and
 * the < 56 KiB that staggers the 14 batch arrays modulo 4 KiB. */
export const KERNEL_MAX_BYTES = 2 ** 31 - 2 ** 24;

/** Smallest power of two >= x (x >= 1): ring capacities, so ring indices are a mask. */
export function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Bytes of one stream's block in the WASM layout (128 bytes of state, window ring, suffix
 * (max, -min) pairs, model ring; see assembly/rolling.ts). */
export function streamBlockBytes(window: number, modelSize: number): number {
  const w = nextPow2(window);
  const m = nextPow2(modelSize);
  const bytes = 128 + w * 8 + (window + 1) * 16 + m * 8;
  return Math.ceil(bytes / 64) * 64;
}

function integer(name: keyof typeof KERNEL_MAX, value: unknown): number {
  const max = KERNEL_MAX[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in 1…${max}, got ${String(value)}`);
  }
  return value;
}

/** Checks a z threshold: a number > 0 (Infinity disables anomaly exclusion). */
export function checkZThreshold(z: unknown): number {
  if (typeof z !== "number" || !(z > 0)) {
    throw new RangeError(`zThreshold must be a number > 0, got ${String(z)}`);
  }
  return z;
}

/** Checks a stream id against `maxStreams`. */
export function checkStreamId(stream: unknown, maxStreams: number): number {
  if (
    typeof stream !== "number" || !Number.isInteger(stream) || stream < 0 || stream >= maxStreams
  ) {
    throw new RangeError(
      `stream id must be an integer in 0…${maxStreams - 1}, got ${String(stream)}`,
    );
  }
  return stream;
}

/** Checks that limits are numbers (NaN allowed: it disables the check). */
export function checkLimits(limits: StreamLimits): StreamLimits {
  for (const key of ["low", "high", "maxDelta", "maxDeviationPct"] as const) {
    if (typeof limits[key] !== "number") {
      throw new RangeError(
        `limits.${key} must be a number (NaN disables), got ${String(limits[key])}`,
      );
    }
  }
  return limits;
}

/**
 * Fills in the defaults and validates every option, throwing a `RangeError` that names the bad
 * option and value (e.g. `window must be an integer in 1…65536, got 0`).
 */
export function resolveKernelOptions(options: KernelOptions = {}): Required<KernelOptions> {
  const o = { ...KERNEL_DEFAULTS };
  for (const key of Object.keys(KERNEL_DEFAULTS) as (keyof KernelOptions)[]) {
    const v = options[key];
    if (v !== undefined) o[key] = v;
  }
  integer("maxStreams", o.maxStreams);
  integer("window", o.window);
  integer("modelSize", o.modelSize);
  integer("batchCapacity", o.batchCapacity);
  checkZThreshold(o.zThreshold);
  if (
    typeof o.trendTolerance !== "number" || !(o.trendTolerance >= 0) ||
    o.trendTolerance === Infinity
  ) {
    throw new RangeError(
      `trendTolerance must be a finite number >= 0, got ${String(o.trendTolerance)}`,
    );
  }
  const bytes = o.maxStreams * streamBlockBytes(o.window, o.modelSize) +
    o.batchCapacity * (4 + 8 + 8 + 10 * 8 + 4);
  if (bytes > KERNEL_MAX_BYTES) {
    throw new RangeError(
      `kernel state would need ${bytes} bytes (maxStreams ${o.maxStreams}, window ${o.window}, ` +
        `modelSize ${o.modelSize}), more than ${KERNEL_MAX_BYTES}`,
    );
  }
  return o;
}

/** Throws a `RangeError` naming the value unless `n` readings of `input` fit one batch. */
export function checkBatch(input: KernelInput, n: number, batchCapacity: number): void {
  if (!Number.isInteger(n) || n < 0 || n > batchCapacity) {
    throw new RangeError(`n must be an integer in 0…${batchCapacity}, got ${n}`);
  }
  const { stream, time, value } = input;
  if (stream.length < n || time.length < n || value.length < n) {
    throw new RangeError(
      `n = ${n} exceeds the input arrays (stream ${stream.length}, time ${time.length}, ` +
        `value ${value.length})`,
    );
  }
}

/**
 * Copies readings `0…n-1` of `input` into a kernel's batch arrays `to` (WASM memory views),
 * one `set` per array; `n` as accepted by {@linkcode checkBatch}.
 *
 * @example
 * ```ts
 * checkBatch(input, n, capacity);
 * copyBatch(views, input, n); // views: Int32Array and Float64Arrays over WASM memory
 * ```
 */
export function copyBatch(to: KernelInput, input: KernelInput, n: number): void {
  const { stream, time, value } = input;
  to.stream.set(stream.length === n ? stream : stream.subarray(0, n));
  to.time.set(time.length === n ? time : time.subarray(0, n));
  to.value.set(value.length === n ? value : value.subarray(0, n));
}
