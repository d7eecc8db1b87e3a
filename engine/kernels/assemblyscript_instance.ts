/**
 * The glue every WebAssembly host in engine/kernels shares: compiling an AssemblyScript module
 * (`--runtime stub`) once per process, instantiating it so that its `abort` — a failed
 * `assert` or a bad argument in the kernel — surfaces as a JS `Error` with the kernel's message,
 * and typed-array views over its memory that are rebuilt only when the memory grows.
 *
 * The modules lay out their arrays with assembly/lib/memory.ts and export `ptr(k)`, the address
 * of array k, so that one view maker serves them all.
 * @module
 */

/** The exports every module built from `assembly/` has (assembly/lib/memory.ts). */
export interface AssemblyScriptExports {
  readonly memory: WebAssembly.Memory;
  /** Address of array `k` of the module's layout (64-byte aligned), once configured. */
  ptr(k: number): number;
}

/** An AssemblyScript string: UTF-16LE code units, byte length in the u32 just before `ptr`. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return "";
  const buf = memory.buffer;
  if (ptr < 4 || ptr > buf.byteLength) return `<string at ${ptr}>`;
  const bytes = new DataView(buf).getUint32(ptr - 4, true);
  if (ptr + bytes > buf.byteLength) return `<string at ${ptr}>`;
  return new TextDecoder("utf-16le").decode(new Uint8Array(buf, ptr, bytes));
}

/**
 * A fresh instance (own memory) of `module`, whose only import, `env.abort`, throws
 * `Error("<message> (<file>:<line>:<column>)")`. `T` describes the exports; it must include
 * the module's `memory`.
 */
export function instantiateAssemblyScript<T extends { memory: WebAssembly.Memory }>(
  module: WebAssembly.Module,
): T {
  // The memory exists only once the instance does; abort reads it lazily.
  const bound: { memory?: WebAssembly.Memory } = {};
  const imports = {
    env: {
      abort(msg: number, file: number, line: number, column: number): never {
        const memory = bound.memory;
        const text = memory ? readAsString(memory, msg) : `abort(${msg})`;
        const where = memory ? readAsString(memory, file) : "";
        // `assert` passes its source location; a bare `abort` passes none.
        throw new Error(where ? `${text} (${where}:${line}:${column})` : text);
      },
    },
  };
  const exports = new WebAssembly.Instance(module, imports).exports as unknown as T;
  bound.memory = exports.memory;
  return exports;
}

/**
 * A factory of fresh instances of the module in `bytes`. The module is compiled synchronously
 * on the first call (the costly part) and once per process; each instance has its own memory,
 * so several kernels coexist.
 *
 * @example
 * ```ts
 * import wasmBytes from "../../../build/wasm/rolling.wasm" with { type: "bytes" };
 * const instantiate = assemblyScriptFactory<KernelExports>(wasmBytes);
 * const exports = instantiate(); // then exports.configure(...)
 * ```
 */
export function assemblyScriptFactory<T extends { memory: WebAssembly.Memory }>(
  bytes: Uint8Array<ArrayBuffer>,
): () => T {
  let compiled: WebAssembly.Module | undefined;
  return () => instantiateAssemblyScript<T>(compiled ??= new WebAssembly.Module(bytes));
}

/** Makes typed views of a module's arrays over one memory buffer. */
export interface ViewMaker {
  /** `length` f64 of array `k`. */
  f64(k: number, length: number): Float64Array;
  /** `length` i32 of array `k`. */
  i32(k: number, length: number): Int32Array;
  /** `length` u32 of array `k`. */
  u32(k: number, length: number): Uint32Array;
}

/**
 * Views over a module's memory, built by `build` and rebuilt only when `memory.buffer` changed:
 * a `memory.grow` detaches the old buffer (its views then have length 0), so views are checked
 * after every call that may grow the memory, and reused otherwise.
 *
 * @example
 * ```ts
 * const views = new MemoryViews(exports, (v) => ({ input: v.f64(0, 1024), out: v.f64(1, 1024) }));
 * views.current.input.set(samples);
 * exports.process(1024);
 * const result = views.current.out; // the views of a grown buffer if process grew it
 * ```
 */
export class MemoryViews<V> {
  readonly #exports: AssemblyScriptExports;
  readonly #build: (make: ViewMaker) => V;
  #buffer: ArrayBufferLike | undefined;
  #views: V | undefined;

  /** `build` makes the views from a {@linkcode ViewMaker} over the current buffer. */
  constructor(exports: AssemblyScriptExports, build: (make: ViewMaker) => V) {
    this.#exports = exports;
    this.#build = build;
  }

  /** The views over the memory's current buffer. */
  get current(): V {
    const buffer = this.#exports.memory.buffer;
    if (buffer === this.#buffer && this.#views !== undefined) return this.#views;
    const ptr = (k: number) => this.#exports.ptr(k);
    this.#views = this.#build({
      f64: (k, length) => new Float64Array(buffer, ptr(k), length),
      i32: (k, length) => new Int32Array(buffer, ptr(k), length),
      u32: (k, length) => new Uint32Array(buffer, ptr(k), length),
    });
    this.#buffer = buffer;
    return this.#views;
  }
}
