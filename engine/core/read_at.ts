/**
 * Reading a stretch of an open file whole (a single `read` may return less than asked).
 * @module
 */

/**
 * Up to `length` bytes of `file` from byte `from`: fewer only where the file ends first.
 *
 * @example
 * ```ts
 * using file = await Deno.open("data/vigil.lock");
 * const head = await readAt(file, 0, 64); // a pid and a newline
 * ```
 */
export async function readAt(file: Deno.FsFile, from: number, length: number): Promise<Uint8Array> {
  await file.seek(from, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < buf.length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buf.subarray(0, got);
}
