/**
 * The data directory as a whole: created (with `logs/`), checked writable and locked before any
 * output is opened, so that a directory the operating system refuses, or one another Vigil
 * process writes, is one clear line at start rather than a stack trace or interleaved, torn
 * output lines.
 * @module
 */
import { join } from "node:path";
import { StartupError } from "../core/config.ts";
import { readText } from "./output_files.ts";

/**
 * The lock files of a data directory, one per kind of writer (see {@linkcode openDataDir}): the
 * input log `stream_output.jsonl` (the simulator in `start`, or `--simulator-only`) and the
 * outputs derived from it (`--processor-only`, or the whole of `start` and `replay`). Two
 * locks, because a `--simulator-only` and a `--processor-only` process share a directory by
 * design.
 */
export const LOCK_FILES = { input: "vigil-input.lock", outputs: "vigil.lock" } as const;

/** What a process writes in a data directory: the lock it takes for each. */
export type DataDirRole = keyof typeof LOCK_FILES;

/** Options of {@linkcode openDataDir}. */
export interface OpenDataDirOptions {
  /** What this process writes there. @default {["input", "outputs"]} */
  roles?: readonly DataDirRole[];
}

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
 * Creates `dir` and `dir/logs` if needed, checks that this process can write there, and takes an
 * exclusive lock (`flock`, through `Deno.FsFile.tryLock`) on the lock file of each of `roles`,
 * writing this process's pid into it. Held until {@linkcode DataDir.close} or the process ends:
 * the kernel releases a `flock` when its process dies, so a lock left by `kill -9` never blocks
 * the next start. The lock files stay in the directory (removing them would let two processes
 * lock two different files of one name).
 *
 * Throws a {@linkcode StartupError} (exit 2) for a directory the operating system will not let
 * this process write, and for one another process holds, naming the directory and that
 * process's pid. Deno's own permission errors (`NotCapable`: a missing `--allow-write`) are
 * left to the caller, which names the flag.
 *
 * @example
 * ```ts
 * using data = await openDataDir("./data");
 * // … open the outputs under data.path; a second process would be refused until here …
 * ```
 */
export async function openDataDir(
  dir: string,
  options: OpenDataDirOptions = {},
): Promise<DataDir> {
  const roles = options.roles ?? ["input", "outputs"];
  try {
    await Deno.mkdir(join(dir, "logs"), { recursive: true });
    // A new file, as every checkpoint makes one (then renames it): a read-only directory
    // whose files already exist would otherwise pass until the first checkpoint.
    const probe = join(dir, `.write-test-${Deno.pid}`);
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
  } catch (e) {
    throw refused(e) ? notWritable(dir, e) : e;
  }
  const held: Deno.FsFile[] = [];
  const close = () => {
    for (const f of held.splice(0)) f.close(); // closing releases the lock
  };
  try {
    for (const role of roles) held.push(await lock(dir, role));
  } catch (e) {
    close();
    throw e;
  }
  return { path: dir, close, [Symbol.dispose]: close };
}

function notWritable(dir: string, e: unknown): StartupError {
  return new StartupError(
    `data directory ${dir} is not writable (${(e as Error).message}): ` +
      `make it writable for this user, or pass another --data-dir`,
  );
}

/** Opens and locks the lock file of `role`; the pid of this process goes in it. */
async function lock(dir: string, role: DataDirRole): Promise<Deno.FsFile> {
  const path = join(dir, LOCK_FILES[role]);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw refused(e) ? notWritable(dir, e) : e;
  }
  try {
    if (!(await file.tryLock(true))) {
      // Read through this handle: a second one could, with POSIX record locks, drop a lock.
      const pid = /^\d+/.exec((await readAll(file)).trim())?.[0];
      throw new StartupError(
        `data directory ${dir} is in use by another Vigil process ` +
          `(${pid ? `pid ${pid}` : "pid not yet written"}): ` +
          `stop it, or pass another --data-dir`,
      );
    }
    await file.truncate(0);
    const bytes = new TextEncoder().encode(`${Deno.pid}\n`);
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

async function readAll(file: Deno.FsFile): Promise<string> {
  return await readText(file, 0, 64); // a pid and a newline
}
