/**
 * The data directory as a whole: created (with `logs/`) and checked writable before any output
 * is opened, so that a directory the operating system refuses is one clear line at start rather
 * than a stack trace from whichever file happens to be written first.
 * @module
 */
import { join } from "node:path";
import { StartupError } from "../core/config.ts";

/** The lock file of a data directory (see {@linkcode openDataDir}). */
export const LOCK_FILE = "vigil.lock";

/** Whether `e` is the operating system refusing a write: permissions or a read-only mount. */
function refused(e: unknown): boolean {
  // EROFS has no Deno error class of its own: it arrives as a plain Error naming os error 30.
  return e instanceof Deno.errors.PermissionDenied ||
    (e instanceof Error && /os error 30\b|read-only file system/i.test(e.message));
}

/** A data directory opened by {@linkcode openDataDir}; closing it releases it. */
export interface DataDir extends Disposable {
  readonly path: string;
  close(): void;
}

/**
 * Creates `dir` and `dir/logs` if needed and checks that this process can write there (it
 * creates and removes a file, then opens the directory's lock file for writing); a directory it cannot write is a
 * {@linkcode StartupError} (exit 2) naming it and what to do. Deno's own permission errors
 * (`NotCapable`: a missing `--allow-write`) are left to the caller, which says which flag.
 *
 * @example
 * ```ts
 * using data = await openDataDir("./data");
 * // … open the outputs under data.path …
 * ```
 */
export async function openDataDir(dir: string): Promise<DataDir> {
  let file: Deno.FsFile;
  try {
    await Deno.mkdir(join(dir, "logs"), { recursive: true });
    // A new file and a rename, as every checkpoint does: a read-only directory whose files
    // already exist would otherwise pass until the first checkpoint.
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
    file = await Deno.open(join(dir, LOCK_FILE), { read: true, write: true, create: true });
  } catch (e) {
    if (!refused(e)) throw e;
    throw new StartupError(
      `data directory ${dir} is not writable (${(e as Error).message}): ` +
        `make it writable for this user, or pass another --data-dir`,
    );
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  return { path: dir, close, [Symbol.dispose]: close };
}
