/**
 * The `serial:PATH` source: received lines from a tty, framed, logged to `raw.log` and handed on
 * in order, with the device's comings and goings as items of the same stream.
 * @module
 */
import { formatRawLine } from "../../formats/raw_line.ts";
import { SerialError, SerialPort } from "./serial_port.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";

/** One thing the serial source saw, in the order it happened. `time` is the receive time, epoch
 * ms. */
export type SerialItem =
  /** A complete line, without its `\n` / `\r\n`; for the parser. */
  | { kind: "line"; line: string; time: number }
  /** A line the reader refused (longer than `maxLineBytes`): `line` is its kept prefix. It goes
   * to `parser_errors.log` as it is, not to the parser. */
  | { kind: "rejected"; line: string; error: string; time: number }
  /** The device came, went or came back: for a `DEVICE_STATUS` event. */
  | {
    kind: "device";
    status: "connected" | "disconnected" | "reconnected";
    /** `Device connected`, `Device disconnected` or `Device reconnected`. */
    message: string;
    /** Why it was lost (`read "/dev/ttyUSB0": EIO (Input/output error)`); null otherwise. */
    detail: string | null;
    time: number;
  };

/** Options of {@linkcode SerialSource}. */
export interface SerialSourceOptions {
  /** Line speed. @default {115200} */
  baud?: number;
  /** Where every received line is appended before it is handed on (the data directory's
   * `raw.log`); null: nowhere. @default {null} */
  rawLogPath?: string | null;
  /** Longest line accepted, in bytes without its terminator; a longer one is cut to this and
   * rejected, and the rest of it up to the next `\n` is discarded. @default {1024} */
  maxLineBytes?: number;
  /** Bytes asked for per read. @default {65536} */
  readBytes?: number;
  /** Wait between reads while the device is silent; while data flows reads follow each other
   * at once. @default {15} */
  idlePollMs?: number;
  /** First wait before reopening a lost device; doubles on each failure… @default {100} */
  retryMinMs?: number;
  /** …up to this. @default {5000} */
  retryMaxMs?: number;
  /** How often a silent device's path is checked (a device whose node vanished without a read
   * error is treated as unplugged). @default {1000} */
  presenceCheckMs?: number;
  /** Ends the stream (closing the port) promptly: reads never block. */
  signal?: AbortSignal;
  /** Receive time. @default {Date.now} */
  now?: () => number;
}

/** The source's connection state, for `/health`. */
export type SerialState = "connecting" | "connected" | "disconnected" | "closed";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * A serial device as `ReadableStream<SerialItem[]>` (one array per read, in order).
 *
 * Bytes are framed on `\n` (a `\r` before it is dropped) into a fixed buffer of
 * `maxLineBytes + 1` bytes, so memory stays bounded whatever the device sends. Every framed line,
 * accepted or cut, is appended to `raw.log` as `<ISO receive time> <JSON string>` in one write
 * per read, before it is handed on.
 *
 * Bytes that are not UTF-8 are kept, not replaced: each byte of an invalid sequence becomes the
 * lone surrogate U+DC80–U+DCFF (Python's `surrogateescape`, PEP 383). `JSON.stringify` writes
 * those as `\udcXX`, so `raw.log` holds the exact bytes received, recoverable by mapping each
 * lone `\udcXX` back to byte `XX` and UTF-8-encoding the rest; such a line never parses.
 *
 * A read error, a hang-up, or the path vanishing closes the port and yields a `disconnected`
 * item; the path is then reopened with exponential backoff (`retryMinMs` … `retryMaxMs`) and a
 * `reconnected` item comes when it is back. A line cut by the unplug is handed on as it is. The
 * first open yields `connected` (or `disconnected` if the device is not there yet).
 */
export class SerialSource {
  readonly readable: ReadableStream<SerialItem[]>;
  #state: SerialState = "connecting";
  #lines = 0;
  #rejected = 0;
  #bytes = 0;
  #disconnects = 0;

  constructor(readonly path: string, options: SerialSourceOptions = {}) {
    const baud = options.baud ?? 115200;
    const max = options.maxLineBytes ?? 1024;
    const idleMs = options.idlePollMs ?? 15;
    const retryMin = options.retryMinMs ?? 100;
    const retryMax = options.retryMaxMs ?? 5000;
    const presenceMs = options.presenceCheckMs ?? 1000;
    const now = options.now ?? Date.now;
    // Aborted by the caller's signal or by cancel(): either ends the read loop at once.
    const stop = new AbortController();
    const signal = stop.signal;
    const onAbort = () => stop.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) stop.abort();
    const buf = new Uint8Array(options.readBytes ?? 65536);
    // +1: room for the `\r` of a line of exactly `max` bytes ended by `\r\n`.
    const line = new Uint8Array(max + 1);
    let len = 0;
    let overlong = false;
    let dropped = 0;
    let port: SerialPort | null = null;
    let rawLog: Deno.FsFile | null = null;
    let everConnected = false;
    let retryMs = retryMin;
    let lastPresence = 0;

    const append = (seg: Uint8Array) => {
      if (overlong) {
        dropped += seg.length;
        return;
      }
      const room = line.length - len;
      if (seg.length <= room) {
        line.set(seg, len);
        len += seg.length;
      } else {
        line.set(seg.subarray(0, room), len);
        len = line.length;
        overlong = true;
        dropped += seg.length - room;
      }
    };
    const finish = (time: number, items: SerialItem[]) => {
      let n = len;
      if (!overlong && n > 0 && line[n - 1] === 13) n--;
      if (overlong || n > max) {
        const total = len + dropped;
        items.push({
          kind: "rejected",
          line: decode(line.subarray(0, max)),
          error: `line longer than ${max} bytes (${total} bytes before the newline): ` +
            `cut to ${max} bytes, the rest discarded`,
          time,
        });
        this.#rejected++;
      } else {
        items.push({ kind: "line", line: decode(line.subarray(0, n)), time });
        this.#lines++;
      }
      len = 0;
      overlong = false;
      dropped = 0;
    };
    const frame = (chunk: Uint8Array, time: number, items: SerialItem[]) => {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        append(chunk.subarray(start, nl));
        finish(time, items);
        start = nl + 1;
      }
      if (start < chunk.length) append(chunk.subarray(start));
    };
    const logRaw = async (items: SerialItem[]) => {
      if (!rawLog) return;
      let text = "";
      for (const item of items) {
        if (item.kind === "device") continue;
        text += formatRawLine(item.time, item.line) + "\n";
      }
      if (text === "") return;
      const bytes = encoder.encode(text);
      // FsFile has no user-space buffer: once written, the lines are in the OS's hands.
      let off = 0;
      while (off < bytes.length) off += await rawLog.write(bytes.subarray(off));
    };
    const lose = (e: unknown, items: SerialItem[]) => {
      port?.close();
      port = null;
      const time = now();
      if (len > 0 || overlong) finish(time, items);
      this.#state = "disconnected";
      this.#disconnects++;
      retryMs = retryMin;
      items.push({
        kind: "device",
        status: "disconnected",
        message: "Device disconnected",
        detail: e instanceof Error ? e.message : String(e),
        time,
      });
    };
    const tryOpen = (items: SerialItem[]): boolean => {
      try {
        port = SerialPort.open(this.path, { baud });
      } catch (e) {
        if (!(e instanceof SerialError)) throw e;
        if (this.#state === "connecting") {
          // Not there at start: said once, then retried like an unplugged device.
          this.#state = "disconnected";
          items.push({
            kind: "device",
            status: "disconnected",
            message: "Device disconnected",
            detail: e.message,
            time: now(),
          });
        }
        return false;
      }
      this.#state = "connected";
      retryMs = retryMin;
      lastPresence = performance.now();
      items.push({
        kind: "device",
        status: everConnected ? "reconnected" : "connected",
        message: everConnected ? "Device reconnected" : "Device connected",
        detail: null,
        time: now(),
      });
      everConnected = true;
      return true;
    };
    const close = () => {
      options.signal?.removeEventListener("abort", onAbort);
      port?.close();
      port = null;
      rawLog?.close();
      rawLog = null;
      this.#state = "closed";
    };

    this.readable = new ReadableStream<SerialItem[]>({
      start: async () => {
        if (options.rawLogPath) {
          rawLog = await Deno.open(options.rawLogPath, { append: true, create: true });
        }
      },
      pull: async (controller) => {
        const items: SerialItem[] = [];
        while (!signal.aborted) {
          if (!port) {
            if (!tryOpen(items)) {
              if (items.length > 0) break;
              await abortableSleep(retryMs, signal);
              retryMs = Math.min(retryMs * 2, retryMax);
              continue;
            }
          }
          let n: number;
          try {
            n = port!.read(buf);
          } catch (e) {
            if (!(e instanceof SerialError)) throw e;
            lose(e, items);
            break;
          }
          if (n > 0) {
            this.#bytes += n;
            frame(buf.subarray(0, n), now(), items);
            if (items.length > 0) break;
            continue; // a partial line: read on at once
          }
          if (items.length > 0) break;
          if (performance.now() - lastPresence >= presenceMs) {
            lastPresence = performance.now();
            if (!SerialPort.exists(this.path)) {
              lose(new Error(`${JSON.stringify(this.path)} is gone`), items);
              break;
            }
          }
          await abortableSleep(idleMs, signal);
        }
        if (this.#state === "closed") return; // cancelled meanwhile
        if (items.length > 0) {
          await logRaw(items);
          controller.enqueue(items);
        }
        if (signal.aborted) {
          close();
          controller.close();
        }
      },
      cancel: () => {
        stop.abort();
        close();
      },
    }, { highWaterMark: 1 });
  }

  /** Where the source stands now. */
  get state(): SerialState {
    return this.#state;
  }

  /** Lines handed on to the parser so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Lines the reader rejected (overlong) so far. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Times the device was lost. */
  get disconnects(): number {
    return this.#disconnects;
  }
}

/** UTF-8 text of `bytes`, each byte of an invalid sequence kept as U+DC80–U+DCFF. */
function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return decodeEscaped(bytes);
  }
}

function decodeEscaped(b: Uint8Array): string {
  const units: number[] = [];
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      units.push(c);
      i++;
      continue;
    }
    // Length and the allowed range of the second byte (RFC 3629 table: no overlongs, no
    // surrogates, nothing above U+10FFFF).
    let need = 0, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    }
    let ok = need > 0 && i + need < b.length;
    if (ok) {
      const b1 = b[i + 1];
      if (b1 === undefined || b1 < lo || b1 > hi) ok = false;
      for (let k = 2; ok && k <= need; k++) {
        const bk = b[i + k];
        if (bk === undefined || bk < 0x80 || bk > 0xbf) ok = false;
      }
    }
    if (!ok) {
      units.push(0xdc00 + c);
      i++;
      continue;
    }
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) cp = (cp << 6) | (b[i + k]! & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    i += need + 1;
  }
  let s = "";
  for (let k = 0; k < units.length; k += 4096) {
    s += String.fromCharCode(...units.slice(k, k + 4096));
  }
  return s;
}
