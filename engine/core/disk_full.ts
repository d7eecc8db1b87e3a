/**
 * A full disk, told apart from other write failures: the run stops with one line naming the
 * file it could not write (`disk full writing <file>`), after cutting what it half wrote back
 * to the last checkpoint, rather than dying on an `ENOSPC` that names no file.
 * @module
 */

/**
 * The disk (or the file system's quota) is full: `file` could not be written. The writer has
 * already put its files back as they were at the last checkpoint, so that a restart once there
 * is space resumes as after any stop. The CLI prints the message and exits with code 2.
 *
 * @example
 * ```ts
 * throw new DiskFullError("data/analysis_output.csv", new Error("No space left on device"));
 * ```
 */
export class DiskFullError extends Error {
  constructor(readonly file: string, cause?: unknown) {
    super(`disk full writing ${file}`, { cause });
    this.name = "DiskFullError";
  }
}

/**
 * Whether `e` is the operating system's "no space left" (`ENOSPC`, also Deno's message for it)
 * or SQLite's "database or disk is full" (`SQLITE_FULL`, error code 13).
 *
 * @example
 * ```ts
 * try {
 *   await Deno.writeTextFile("out.txt", "x");
 * } catch (e) {
 *   if (isDiskFull(e)) console.error("the disk is full");
 * }
 * ```
 */
export function isDiskFull(e: unknown): boolean {
  if (e instanceof DiskFullError) return true;
  if (!(e instanceof Error)) return false;
  const err = e as Error & { code?: unknown; errcode?: unknown };
  return err.code === "ENOSPC" || err.errcode === 13 ||
    /No space left on device|database or disk is full/.test(e.message);
}

/**
 * `e` as a {@linkcode DiskFullError} for `file` when it is a full disk, else `e` unchanged: for
 * a `catch` that rethrows.
 *
 * @example
 * ```ts
 * try {
 *   await Deno.writeTextFile("out.txt", "x");
 * } catch (e) {
 *   throw diskFullOr(e, "out.txt");
 * }
 * ```
 */
export function diskFullOr(e: unknown, file: string): unknown {
  if (e instanceof DiskFullError || !isDiskFull(e)) return e;
  return new DiskFullError(file, e);
}
