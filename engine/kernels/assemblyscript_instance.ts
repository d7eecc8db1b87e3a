/**
 * Instantiating an AssemblyScript module (`--runtime stub`) so that its `abort` — a failed
 * `assert` or a bad argument in the kernel — surfaces as a JS `Error` with the kernel's message.
 * @module
 */

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
