/**
 * Writing bytes to an open file whole, synchronously.
 *
 * Why not `await file.write`: Deno runs an async file write on its blocking thread pool, a
 * hand-off each call. The live engine writes a few small appends per batch (outputs, delivery
 * journal, checkpoint) several hundred times a second, and there the hand-offs cost more than
 * the writes: 4 appends of 30/30/3/3 kB took 156–173 µs async against 30–32 µs with
 * `writeSync` (2,000 rounds, this machine, 2026-11-29), and `op_write` was 9 % of a live
 * engine's CPU profile. A write to a local file returns once the bytes are in the page cache,
 * so blocking the event loop for it is shorter than the hand-off.
 * @module
 */

/**
 * Writes all of `bytes` at `file`'s position (a single `writeSync` may write less).
 *
 * @example
 * ```ts
 * using file = Deno.openSync("data/example.log", { append: true, create: true });
 * writeAllSync(file, new TextEncoder().encode("one line\n"));
 * ```
 */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}
