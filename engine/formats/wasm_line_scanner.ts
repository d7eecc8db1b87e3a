/**
 * {@linkcode WasmLineScanner}: reads the *canonical* JSONL lines of a buffer in bulk into
 * {@linkcode ReadingColumns} with the WebAssembly scanner of `assembly/jsonl.ts`. A canonical
 * line is byte for byte what `writeReading` writes (a normalised file, `stream_output.jsonl`):
 * the only lines it takes, with exactly the columns `JsonLineScanner.scanLineInto` appends for
 * them (tests/unit/wasm_line_scanner_test.ts compares the two). It stops at the first line it
 * declines, which the caller reads with `JsonLineScanner` (or the parser) as before: declining is
 * always safe. Issue 14: the JS scanner was the largest single cost of a 1 M-reading replay.
 *
 * The WASM module keeps a string table (machine ids, status words, keys, `injected` labels) by
 * their bytes; when a scan meets a string it does not know, it stops, and this host decodes the
 * string once, applies the rules to it (its role as a key, `machineIdError`, `statusError`),
 * registers it and resumes. The JS strings are kept here by id (`#strings`), so a taken line
 * makes no string.
 * @module
 */
import wasmBytes from "../../build/wasm/jsonl.wasm" with { type: "bytes" };
import {
  type AssemblyScriptExports,
  assemblyScriptFactory,
  MemoryViews,
} from "../kernels/assemblyscript_instance.ts";
import type { ReadingColumns } from "../core/reading_columns.ts";
import {
  ascii,
  internalized,
  MAX_INTERNED,
  MAX_INTERNED_BYTES,
  roleOf,
} from "./json_line_scanner.ts";
import { machineIdError, statusError } from "./reading_rules.ts";

/** The exports of `jsonl.wasm` (see `assembly/jsonl.ts` for each one's contract). */
interface JsonlExports extends AssemblyScriptExports {
  configure(
    lineCapacity: number,
    entryCapacity: number,
    inputCapacity: number,
    maxStrings: number,
    maxStringBytes: number,
    maxLineLength: number,
  ): number;
  scan(from: number, to: number, maxLines: number): number;
  intern(start: number, end: number, flags: number): number;
}

/** Indices of the module's arrays for `ptr` (`enum R` of assembly/jsonl.ts). */
const JSONL_ARRAYS = Object.freeze({
  lineTime: 0,
  lineMachine: 1,
  lineStatus: 2,
  lineInjected: 3,
  lineFirst: 4,
  lineEnd: 5,
  entryKey: 6,
  entryValue: 7,
  state: 10,
  input: 12,
});

// Fields of the state array and the stop codes of `scan` (assembly/jsonl.ts).
const S_LINES = 0, S_ENTRIES = 1, S_AT = 2, S_UNKNOWN_START = 3, S_UNKNOWN_END = 4;
const DECLINED = 1, FULL = 2, UNKNOWN = 3, END = 4;
const MACHINE_OK = 16, STATUS_OK = 32;

/** Lines one WASM scan call takes at most (its output arrays' size): a FileSource batch. */
const LINE_CAPACITY = 8192;
/** Channel entries one scan call holds at most; a scan stops before a line that would not fit,
 * and the host calls again (8 per line covers the usual files in one call). */
const ENTRY_CAPACITY = 8 * LINE_CAPACITY;
/** Bytes copied into WASM memory at a time: a piece is copied, its complete lines scanned, then
 * the next piece starts at the first line not taken. Small, so that a scan that stops early
 * (`maxLines`, a declined line) has copied little more than it read. */
const PIECE = 65536;
/** The first piece of a call (see `scanInto`). */
const FIRST_PIECE = 4096;

const instantiate = assemblyScriptFactory<JsonlExports>(wasmBytes);

/** Options of {@linkcode WasmLineScanner}. */
export interface WasmLineScannerOptions {
  /** The longest line taken, in bytes without its `\n` (default 65,536, as `ByteLines`). */
  maxLineLength?: number;
  /** Strings the table holds at most (default `MAX_INTERNED`, 65,536): a line with a new
   * string past it is declined. */
  maxStrings?: number;
  /** The longest string kept, in bytes (default `MAX_INTERNED_BYTES`, 256): a line with a
   * longer one is declined. */
  maxStringBytes?: number;
}

interface Views {
  time: Float64Array;
  machine: Int32Array;
  status: Int32Array;
  injected: Int32Array;
  first: Int32Array;
  entryKey: Int32Array;
  entryValue: Float64Array;
  state: Int32Array;
  input: Uint8Array;
}

/**
 * One scanner per input (it keeps the strings it has seen). Memory, all in its WASM instance:
 * the outputs of one scan call, 8,192 lines and 65,536 entries (1 MiB); an input piece of
 * max(64 KiB, maxLineLength + 1) bytes; the string table, 32 B a string and a hash of 8 B a
 * string (2.5 MiB at the default 65,536 strings, allocated up front, its pages touched as
 * strings come), and the strings' bytes (at most 16 MiB by default, grown by doubling); and
 * here, the same strings as JS strings (`#strings`).
 *
 * @example
 * ```ts
 * import { ReadingColumns } from "../core/reading_columns.ts";
 *
 * const scanner = new WasmLineScanner();
 * const bytes = new TextEncoder().encode(
 *   '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1.5}\n',
 * );
 * const columns = new ReadingColumns();
 * scanner.scanInto(bytes, 0, bytes.length, 8192, columns); // 1
 * scanner.end; // bytes.length
 * columns.reading(0); // { timestamp: 1767225600000, machine: "m1", status: null, channels: { t: 1.5 } }
 * ```
 */
export class WasmLineScanner {
  readonly #exports: JsonlExports;
  readonly #views: MemoryViews<Views>;
  readonly #piece: number;
  readonly #maxStrings: number;
  readonly #maxStringBytes: number;
  /** The table's strings by id: keys and machine ids internalized, as JsonLineScanner's. */
  readonly #strings: string[] = [];
  #end = 0;
  #declined = false;

  /** Throws a `RangeError` naming a bad option. */
  constructor(options: WasmLineScannerOptions = {}) {
    const maxLineLength = options.maxLineLength ?? 65536;
    const maxStrings = options.maxStrings ?? MAX_INTERNED;
    const maxStringBytes = options.maxStringBytes ?? MAX_INTERNED_BYTES;
    const check = (name: string, v: number, lo: number, hi: number) => {
      if (!Number.isInteger(v) || v < lo || v > hi) {
        throw new RangeError(
          `WasmLineScanner: ${name} must be an integer in ${lo}…${hi}, got ${v}`,
        );
      }
    };
    check("maxLineLength", maxLineLength, 1, 2 ** 27);
    check("maxStrings", maxStrings, 1, 2 ** 20);
    check("maxStringBytes", maxStringBytes, 0, 4096);
    this.#piece = Math.max(PIECE, maxLineLength + 1);
    this.#maxStrings = maxStrings;
    this.#maxStringBytes = maxStringBytes;
    this.#exports = instantiate();
    this.#exports.configure(
      LINE_CAPACITY,
      ENTRY_CAPACITY,
      this.#piece,
      maxStrings,
      maxStringBytes,
      maxLineLength,
    );
    const piece = this.#piece, A = JSONL_ARRAYS;
    this.#views = new MemoryViews(this.#exports, (v) => {
      const i32 = (k: number, n: number) => v.i32(k, n);
      return {
        time: v.f64(A.lineTime, LINE_CAPACITY),
        machine: i32(A.lineMachine, LINE_CAPACITY),
        status: i32(A.lineStatus, LINE_CAPACITY),
        injected: i32(A.lineInjected, LINE_CAPACITY),
        first: i32(A.lineFirst, LINE_CAPACITY + 1),
        entryKey: i32(A.entryKey, ENTRY_CAPACITY),
        entryValue: v.f64(A.entryValue, ENTRY_CAPACITY),
        state: i32(A.state, 8),
        input: new Uint8Array(this.#exports.memory.buffer, this.#exports.ptr(A.input), piece),
      };
    });
  }

  /** One past the `\n` of the last line the last `scanInto` took (its `start` when none). */
  get end(): number {
    return this.#end;
  }

  /** The bytes of the module's memory (tests: it grows with the strings). */
  get memoryBytes(): number {
    return this.#exports.memory.buffer.byteLength;
  }

  /** Strings in the table (tests). */
  get strings(): number {
    return this.#strings.length;
  }

  /**
   * Appends to `columns` the readings of the canonical lines at the start of
   * `bytes[start, limit)`, at most `maxLines`, stopping before the first line it declines (not
   * canonical, longer than `maxLineLength`, a new string past the table's bounds) or that does
   * not end with a `\n` before `limit`; returns the lines taken ({@linkcode end} is where the
   * next one starts). Each reading is the one `JsonLineScanner.scanLineInto` appends for it.
   */
  scanInto(
    bytes: Uint8Array,
    start: number,
    limit: number,
    maxLines: number,
    columns: ReadingColumns,
  ): number {
    const ex = this.#exports;
    if (!(start >= 0)) throw new RangeError(`WasmLineScanner.scanInto: start ${start} < 0`);
    limit = Math.min(limit, bytes.length);
    let pos = start, taken = 0, why = END;
    // The first piece is small and each next one twice as long: a run cut short by a line it
    // declines (a file of mixed lines) copies little more than its own bytes.
    let size = Math.min(FIRST_PIECE, this.#piece);
    while (taken < maxLines && pos < limit) {
      const stop = Math.min(limit, pos + size);
      let v = this.#views.current;
      v.input.set(bytes.subarray(pos, stop));
      const length = stop - pos;
      let from = 0;
      while (true) {
        why = ex.scan(from, length, Math.min(maxLines - taken, LINE_CAPACITY));
        v = this.#views.current;
        const n = v.state[S_LINES]!;
        if (n > 0) this.#copyOut(v, n, columns);
        taken += n;
        from = v.state[S_AT]!;
        if (why === UNKNOWN) this.#intern(v, v.state[S_UNKNOWN_START]!, v.state[S_UNKNOWN_END]!);
        // Full: the call's line or entry arrays (a line never needs more than an empty call's).
        else if (why !== FULL || taken === maxLines) break;
      }
      pos += from;
      // The piece ended inside a line: the next piece starts at it, unless the input ends there.
      // (A piece of full size holds a line of maxLineLength and its `\n`: it took a line.)
      if (why !== END || stop === limit || (from === 0 && size === this.#piece)) break;
      size = Math.min(2 * size, this.#piece);
    }
    this.#end = pos;
    this.#declined = why === DECLINED;
    return taken;
  }

  /** Whether the last `scanInto` stopped before a line it declines (not at `maxLines`, the
   * limit or the end of the complete lines): the caller reads that line the usual way. */
  get declined(): boolean {
    return this.#declined;
  }

  /** Appends the `n` lines the last scan took to `columns`: the fields `add` writes, written
   * here a column at a time (a call of `add` per line was a sixth of the WASM path's time). */
  #copyOut(v: Views, n: number, columns: ReadingColumns): void {
    const strings = this.#strings;
    const entries = v.state[S_ENTRIES]!;
    columns.reserve(entries);
    const at = columns.entries, key = columns.key, entryKey = v.entryKey;
    for (let e = 0; e < entries; e++) key[at + e] = strings[entryKey[e]!]!;
    columns.value.set(v.entryValue.subarray(0, entries), at);
    const length = columns.length;
    columns.reserveReadings(n);
    columns.time.set(v.time.subarray(0, n), length);
    const machineIn = v.machine, statusIn = v.status, injectedIn = v.injected, firstIn = v.first;
    const machine = columns.machine, status = columns.status, first = columns.first;
    let injected = columns.injected;
    for (let l = 0; l < n; l++) {
      const i = length + l, s = statusIn[l]!, j = injectedIn[l]!;
      machine[i] = strings[machineIn[l]!]!;
      status[i] = s < 0 ? null : strings[s]!;
      // As `add`: the column exists once a reading has a label, and then holds every reading's.
      if (j >= 0) (injected ??= columns.labels(i))[i] = strings[j]!;
      else if (injected !== null) injected[i] = undefined;
      first[i + 1] = at + firstIn[l + 1]!;
    }
    columns.length = length + n;
    columns.entries = at + entries;
  }

  /** Registers the unknown string at input `[from, to)` with its flags. */
  #intern(v: Views, from: number, to: number): void {
    if (this.#strings.length >= this.#maxStrings || to - from > this.#maxStringBytes) {
      // The module declines such a line itself; reaching here is a bug in the two's bounds.
      throw new Error(`WasmLineScanner: string of ${to - from} bytes past the table's bounds`);
    }
    const text = internalized(ascii(v.input, from, to));
    let flags = roleOf(text);
    if (machineIdError(text) === null) flags |= MACHINE_OK;
    if (statusError(text) === null) flags |= STATUS_OK;
    const id = this.#exports.intern(from, to, flags);
    this.#strings[id] = text;
  }
}
