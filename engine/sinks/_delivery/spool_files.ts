/**
 * The spool's files on disk: their names, the ack record, and reading them back at open after a
 * clean stop or a crash. Apart from the live queue (spool.ts) because this is the part that must
 * read what any earlier version wrote: the format below does not change without a migration.
 *
 * Per target, in the spool directory:
 * - `<id>.<generation>.<extension>`: the spool, one item per line, append-only;
 * - `<id>.ack`: `{"url","spool","offset"}` and a newline, the byte offset of `spool` up to which
 *   it is done with (delivered, refused or evicted), replaced atomically (temporary file, then
 *   rename). `url` is the target's label, for a person reading the file; only `spool` and
 *   `offset` are read back.
 *
 * `<id>` is the first 16 hex digits of the SHA-256 of the target's key (its URL).
 * @module
 */
import { join } from "node:path";
import { type DeliveryLog, report } from "./log.ts";

/** One item in the spool: its line and the spool offset just after the line. */
export interface Entry {
  line: string;
  end: number;
}

/** What {@linkcode recoverSpool} found: the spool to append to and what is still to send. */
export interface RecoveredSpool {
  id: string;
  generation: number;
  /** Open for appending, positioned at `size`. */
  file: Deno.FsFile;
  /** Bytes of whole lines in the spool (a torn last line is cut off). */
  size: number;
  /** Offset up to which the spool is done with. */
  acked: number;
  /** The lines after `acked`, oldest first. */
  queue: Entry[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The spool file of `id` and `generation`: `<id>.<generation>.<extension>`. */
export function spoolFileName(id: string, generation: number, extension: string): string {
  return `${id}.${generation}.${extension}`;
}

/** Writes all of `bytes` at the file's position (one `write` may write less). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Replaces `<id>.ack` atomically: written to a temporary file, then renamed over it. */
export async function writeAck(
  dir: string,
  id: string,
  label: string,
  spool: string,
  offset: number,
): Promise<void> {
  const path = join(dir, `${id}.ack`);
  await Deno.writeTextFile(path + ".tmp", JSON.stringify({ url: label, spool, offset }) + "\n");
  await Deno.rename(path + ".tmp", path);
}

async function idOf(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Matches `<id>.<generation>.<extension>`, capturing the id and the generation. */
function spoolNamePattern(extension: string): RegExp {
  // Checked rather than escaped: an extension is a short word, and a dot in it would make
  // `<id>.<generation>` ambiguous to a person listing the directory.
  if (!/^[A-Za-z0-9_-]+$/.test(extension)) {
    throw new RangeError(`spool extension must be letters, digits, _ or -, got ${extension}`);
  }
  return new RegExp(`^([0-9a-f]{16})\\.(\\d+)\\.${extension}$`);
}

/** The lowest generation of `id`'s spools in `dir`, or `undefined` when there is none. */
async function oldestGeneration(
  dir: string,
  id: string,
  pattern: RegExp,
): Promise<number | undefined> {
  let oldest: number | undefined;
  for await (const e of Deno.readDir(dir)) {
    const m = pattern.exec(e.name);
    if (!e.isFile || !m || m[1] !== id) continue;
    const g = Number(m[2]);
    if (oldest === undefined || g < oldest) oldest = g;
  }
  return oldest;
}

/**
 * Opens (or creates) the spool of the target named `key` in `dir` and reads back what is still
 * to send: from the ack file's offset, or the oldest spool whole without a readable ack file. A
 * torn last line (a crash mid-append) is cut off; lines that are not `isValid` are logged and
 * skipped; spools of other generations (an interrupted compaction) are deleted.
 * @throws the file system's error when `dir` cannot be read or the spool opened.
 */
export async function recoverSpool(
  dir: string,
  key: string,
  extension: string,
  isValid: (line: string) => boolean,
  log: DeliveryLog,
): Promise<RecoveredSpool> {
  const id = await idOf(key);
  const pattern = spoolNamePattern(extension);
  const ackPath = join(dir, `${id}.ack`);
  // Without a (readable) ack file: the oldest spool there is, whole. An older generation is
  // complete (a compaction copies before it switches), so this resends rather than loses.
  let generation = await oldestGeneration(dir, id, pattern) ?? 0;
  let acked = 0;
  const ackBytes = await readOrNull(ackPath);
  if (ackBytes !== null) {
    try {
      const ack = JSON.parse(decoder.decode(ackBytes));
      const m = pattern.exec(String(ack.spool));
      if (!m || !Number.isSafeInteger(ack.offset) || ack.offset < 0) throw new Error("bad");
      generation = Number(m[2]);
      acked = ack.offset;
    } catch {
      // Only ever written whole (rename), so this is someone else's file: start over but say so.
      report(log, "error", "ack file unreadable, resending the oldest spool whole", {
        file: ackPath,
      });
      acked = 0;
    }
  }
  const current = spoolFileName(id, generation, extension);
  const path = join(dir, current);
  const bytes = (await readOrNull(path)) ?? new Uint8Array(0);
  // A crash can leave a torn last line: cut it off (it was never acknowledged nor sent).
  const size = bytes.lastIndexOf(10) + 1;
  if (acked > size) {
    report(log, "error", "ack offset beyond its spool, nothing to resend", { offset: acked, size });
    acked = size;
  }
  const queue: Entry[] = [];
  let invalid = 0;
  for (let at = acked; at < size;) {
    const nl = bytes.indexOf(10, at);
    const line = decoder.decode(bytes.subarray(at, nl));
    at = nl + 1;
    if (isValid(line)) queue.push({ line, end: at });
    else invalid++;
  }
  if (invalid > 0) report(log, "error", "spool lines unreadable, skipped", { invalid });
  const file = await Deno.open(path, { create: true, read: true, write: true });
  if (size < bytes.length) await file.truncate(size);
  await file.seek(size, Deno.SeekMode.Start);
  for await (const e of Deno.readDir(dir)) {
    if (
      e.isFile && e.name.startsWith(id + ".") && e.name.endsWith("." + extension) &&
      e.name !== current
    ) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
    }
  }
  return { id, generation, file, size, acked, queue };
}
