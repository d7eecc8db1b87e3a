/**
 * The BLOB of one history chunk: a stream's entries of one flush, in arrival order, column by
 * column. One row per stream per flush rather than one per channel value, because SQLite's cost
 * is per row (statement, key compare, binding), not per byte (bench/history_layout_probe.ts).
 *
 * Layout, little-endian: byte 0 the format version ({@linkcode CHUNK_VERSION}); byte 1 a mask of
 * the f64 columns stored (bit k for the k-th of time, value, mean, std, zscore, threshold,
 * anomaly_ratio), byte 2 of the u8 columns stored (kind, `KIND` of pending.ts; anomaly; event),
 * byte 3 zero; bytes 4–7 the entry count n (u32); then n f64 of each f64 column stored, then n u8
 * of each u8 column stored, in those orders. A column left out is null (NaN) or 0 throughout.
 * NaN stands for SQL null, as in `PendingWrites`. The f64 columns start at byte 8, so a BLOB
 * SQLite hands back at an 8-byte aligned offset is read in place, without a copy.
 * @module
 */
import { KIND } from "./pending.ts";

/** The format version, byte 0 of every chunk. */
export const CHUNK_VERSION = 1;

const HEADER = 8;
/** A host whose Float64Array is little-endian reads a chunk's f64 columns in place. */
const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f;

/**
 * Entries column by column, as `PendingWrites` holds them and {@linkcode decodeChunk} gives
 * them back: `ratio` is the anomaly ratio; NaN is null in every f64 column but `time`.
 */
export interface EntryColumns {
  kind: Uint8Array;
  time: Float64Array;
  value: Float64Array;
  mean: Float64Array;
  std: Float64Array;
  zscore: Float64Array;
  threshold: Float64Array;
  ratio: Float64Array;
  anomaly: Uint8Array;
  event: Uint8Array;
}

/**
 * A decoded chunk: its entry count and columns (views into the BLOB where it could; a column
 * left out is shared with other chunks, so a decoded chunk is read, never written).
 */
export interface Chunk extends EntryColumns {
  length: number;
}

const F64 = ["time", "value", "mean", "std", "zscore", "threshold", "ratio"] as const;
const U8 = ["kind", "anomaly", "event"] as const;

/**
 * Encodes the entries `at[0…n-1]` of `from`, in that order. A -0 is written as 0, as SQLite
 * stored it in a REAL column (so the store answers what the one-row-per-value table did). A
 * column that is null (NaN) or 0 throughout is left out (a reading without results stores its
 * time and value only).
 *
 * @example
 * ```ts
 * import { KIND, PendingWrites } from "./pending.ts";
 * const p = new PendingWrites();
 * p.push(KIND.reading, "m1", "temperature", 0, 21.5);
 * const blob = encodeChunk(p, [0], 1);
 * decodeChunk(blob).value[0]; // 21.5
 * ```
 */
export function encodeChunk(from: EntryColumns, at: ArrayLike<number>, n: number): Uint8Array {
  // Bit k of each mask: column k of F64 (U8) is stored. Time and value always are.
  let f64Mask = 0b11, u8Mask = 0, stored = 2 * 8;
  for (let c = 2; c < F64.length; c++) {
    const src = from[F64[c]!];
    for (let k = 0; k < n; k++) {
      if (!Number.isNaN(src[at[k]!]!)) {
        f64Mask |= 1 << c;
        stored += 8;
        break;
      }
    }
  }
  for (let c = 0; c < U8.length; c++) {
    const src = from[U8[c]!];
    for (let k = 0; k < n; k++) {
      if (src[at[k]!] !== 0) {
        u8Mask |= 1 << c;
        stored += 1;
        break;
      }
    }
  }
  const bytes = new Uint8Array(HEADER + n * stored);
  const view = new DataView(bytes.buffer);
  bytes[0] = CHUNK_VERSION;
  bytes[1] = f64Mask;
  bytes[2] = u8Mask;
  view.setUint32(4, n, true);
  let o = HEADER;
  for (let c = 0; c < F64.length; c++) {
    if (!(f64Mask & (1 << c))) continue;
    const src = from[F64[c]!];
    if (LITTLE_ENDIAN) {
      const dst = new Float64Array(bytes.buffer, o, n);
      for (let k = 0; k < n; k++) dst[k] = src[at[k]!]! + 0;
    } else {
      for (let k = 0; k < n; k++) view.setFloat64(o + 8 * k, src[at[k]!]! + 0, true);
    }
    o += 8 * n;
  }
  for (let c = 0; c < U8.length; c++) {
    if (!(u8Mask & (1 << c))) continue;
    const src = from[U8[c]!];
    for (let k = 0; k < n; k++) bytes[o + k] = src[at[k]!]!;
    o += n;
  }
  return bytes;
}

/**
 * Columns left out of a chunk, by length, shared by every chunk decoded (a read decodes
 * thousands, mostly of a few lengths; nothing writes into a decoded chunk). At most
 * {@linkcode MAX_ABSENT} lengths each.
 */
const nulls = new Map<number, Float64Array>();
const zeros = new Map<number, Uint8Array>();
const MAX_ABSENT = 64;

function absent<T extends Float64Array | Uint8Array>(
  cache: Map<number, T>,
  n: number,
  fill: number,
): T {
  let a = cache.get(n);
  if (a === undefined) {
    if (cache.size >= MAX_ABSENT) cache.clear();
    a = (fill === 0 ? new Uint8Array(n) : new Float64Array(n).fill(fill)) as T;
    cache.set(n, a);
  }
  return a;
}

/** Set bits of `x` (a column mask). */
const bits = (x: number): number => {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
};

/**
 * Decodes a chunk written by {@linkcode encodeChunk}.
 * @throws {Error} for a BLOB of another format version or of the wrong length.
 */
export function decodeChunk(blob: Uint8Array): Chunk {
  if (blob.length < HEADER || blob[0] !== CHUNK_VERSION) {
    throw new Error(
      `history chunk: unknown format ${blob[0]} (this version reads ${CHUNK_VERSION})`,
    );
  }
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const f64Mask = blob[1]!, u8Mask = blob[2]!;
  const n = view.getUint32(4, true);
  if (blob.length !== HEADER + n * (8 * bits(f64Mask) + bits(u8Mask))) {
    throw new Error(`history chunk: ${blob.length} bytes for ${n} entries`);
  }
  // In place when aligned; else (or on a big-endian host) one copy of the f64 columns.
  const aligned = LITTLE_ENDIAN && blob.byteOffset % 8 === 0;
  let o = HEADER;
  const f64 = (c: number): Float64Array => {
    if (!(f64Mask & (1 << c))) return absent(nulls, n, NaN);
    const at = o;
    o += 8 * n;
    if (aligned) return new Float64Array(blob.buffer, blob.byteOffset + at, n);
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = view.getFloat64(at + 8 * k, true);
    return out;
  };
  const u8 = (c: number): Uint8Array => {
    if (!(u8Mask & (1 << c))) return absent(zeros, n, 0);
    o += n;
    return blob.subarray(o - n, o);
  };
  // In the order they are stored.
  const [time, value, mean, std, zscore, threshold, ratio] = F64.map((_, c) => f64(c)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const [kind, anomaly, event] = U8.map((_, c) => u8(c)) as [Uint8Array, Uint8Array, Uint8Array];
  return { length: n, time, value, mean, std, zscore, threshold, ratio, kind, anomaly, event };
}

/** Most entries in a chunk written from stored rows (a migration, a stream rewritten). */
export const MAX_CHUNK_ENTRIES = 4096;

/**
 * A stored reading with its algorithm results, as `/history` serves it (`HistoryEntry`) and a
 * result entry writes it whole (see stream_rows.ts). The results are `null` where they were not
 * computed: readings stored by an older version (and, for `mean` and `zscore`, not closing a
 * processed row), or fed without per-reading results.
 */
export interface StoredRow {
  /** Event time, epoch ms. */
  time: number;
  value: number;
  /** Moving average over the last `--window` readings, this one included. */
  mean: number | null;
  /** Population standard deviation over the same window. */
  std: number | null;
  /** Z-score against the stream's model before this reading entered it. */
  zscore: number | null;
  /** The z threshold in force when this reading was analysed. */
  threshold: number | null;
  /** Whether this reading is a z-score anomaly: |z| > threshold with a full model. */
  anomaly: boolean;
  /** Share of anomalies among the stream's last `anomalyListSize` readings, this one included. */
  anomaly_ratio: number | null;
  /** Whether an anomaly event about this channel was raised on this reading. */
  event: boolean;
}

/** A chunk's row in `chunks`, but for its stream. */
export interface ChunkRow {
  first: number;
  last: number;
  count: number;
  data: Uint8Array;
}

/**
 * `rows` (at distinct times, oldest first) as chunks of result entries, at most
 * {@linkcode MAX_CHUNK_ENTRIES} each: applied to no row, a result entry sets every column as
 * given, nulls and flags included, so the chunks read back as exactly these rows.
 *
 * @example
 * ```ts
 * const [chunk] = rowChunks([{ time: 0, value: 1, mean: null, std: null, zscore: null,
 *   threshold: null, anomaly: false, anomaly_ratio: null, event: true }]);
 * chunk!.count; // 1
 * ```
 */
export function rowChunks(rows: readonly StoredRow[]): ChunkRow[] {
  const out: ChunkRow[] = [];
  const num = (x: number | null) => x ?? NaN;
  for (let from = 0; from < rows.length; from += MAX_CHUNK_ENTRIES) {
    const part = rows.slice(from, from + MAX_CHUNK_ENTRIES);
    const n = part.length;
    const f64 = (f: (r: StoredRow) => number) => Float64Array.from(part, f);
    const cols: EntryColumns = {
      kind: new Uint8Array(n).fill(KIND.result),
      time: f64((r) => r.time),
      value: f64((r) => r.value),
      mean: f64((r) => num(r.mean)),
      std: f64((r) => num(r.std)),
      zscore: f64((r) => num(r.zscore)),
      threshold: f64((r) => num(r.threshold)),
      ratio: f64((r) => num(r.anomaly_ratio)),
      anomaly: Uint8Array.from(part, (r) => r.anomaly ? 1 : 0),
      event: Uint8Array.from(part, (r) => r.event ? 1 : 0),
    };
    const at = Array.from({ length: n }, (_, k) => k);
    out.push({
      first: part[0]!.time,
      last: part[n - 1]!.time,
      count: n,
      data: encodeChunk(cols, at, n),
    });
  }
  return out;
}
