/**
 * The history file's schema, and the migration of files written by older versions. Apart from
 * the writes and the queries because it is the part that must keep reading every file any
 * earlier version wrote; a change of tables goes here, with its migration, and bumps
 * {@linkcode SCHEMA_VERSION}.
 *
 * Version 3 (this one): `streams`, one row per machine and channel, and `chunks`, one row per
 * stream per flush holding that flush's entries (chunk_codec.ts), in write order (`seq`, the
 * rowid, so the table appends). Versions 0 to 2 held one row per channel value in `readings`,
 * which cost SQLite a row (statement, key compare, binding) per value.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { MAX_CHUNK_ENTRIES, rowChunks, type StoredRow } from "./chunk_codec.ts";

/** `PRAGMA user_version` of the current schema (the first one had 0). */
export const SCHEMA_VERSION = 3;

/**
 * The tables. `floor` is the stream's retention floor (retention.ts): entries older than it are
 * deleted; null for none. `rows`, `newest`, `last` and `late` are what retention knew of the
 * stream's rows (streams.ts) once every chunk up to `known` (a `seq`) was written, so that a
 * restart need not decode the stream to count them; null (`known` null) for not known. `first`
 * and `last` bound the times a chunk holds, and the index on `(stream, last, seq, first)` selects
 * the chunks of a time range without reading them, in the order of `last` then write order
 * without sorting them (the oldest for retention, the newest for `/history?last=`).
 */
const TABLES = `
  CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    channel TEXT NOT NULL,
    floor INTEGER,
    rows INTEGER,
    newest REAL,
    last REAL,
    late REAL,
    known INTEGER,
    UNIQUE (machine, channel)
  );
  CREATE TABLE IF NOT EXISTS chunks (
    seq INTEGER PRIMARY KEY,
    stream INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS chunks_by_range ON chunks (stream, last, seq, first);
`;

/** Columns `streams` gained after the first files of version 3 (written before its release). */
const STATE_COLUMNS = ["rows", "newest", "last", "late", "known"] as const;

/** Columns `readings` gained after the first schema, with their SQL type (versions 0 to 2). */
const ADDED_COLUMNS = [
  ["std", "REAL"],
  ["threshold", "REAL"],
  ["anomaly_ratio", "REAL"],
  ["event", "INTEGER NOT NULL DEFAULT 0"],
] as const;

/**
 * Opens (or creates) the history file at `path` (`:memory:` for a throw-away one) with the
 * current schema, converting a file of an older one in place.
 * @throws SQLite's error when the file cannot be opened or converted.
 *
 * @example
 * ```ts
 * const db = openHistoryDb(":memory:");
 * db.prepare("PRAGMA user_version").get(); // { user_version: 3 }
 * db.close();
 * ```
 */
export function openHistoryDb(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * Brings a file of an older schema up to date, in one transaction: its `readings` rows become
 * chunks and the table is dropped. The first schema (no `user_version`) had no `std`,
 * `threshold`, `anomaly_ratio` and `event`, and its `anomaly` meant "an event was raised here",
 * which is now `event`; the z-score flag of those readings is unknown, so their `anomaly` is
 * false (their `threshold` stays null, which says so).
 */
function migrate(db: DatabaseSync): void {
  const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  const readings = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'",
  ).get() !== undefined;
  if (version === SCHEMA_VERSION && !readings && !earlyVersion3(db)) return;
  db.exec("BEGIN");
  try {
    if (earlyVersion3(db)) {
      for (const c of STATE_COLUMNS) db.exec(`ALTER TABLE streams ADD COLUMN ${c}`);
      db.exec("DROP INDEX IF EXISTS chunks_by_stream");
    }
    db.exec(TABLES);
    if (readings) {
      upgradeReadings(db);
      convertReadings(db);
      db.exec("DROP TABLE readings");
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** Whether `streams` lacks the columns of retention's state (a file of an early version 3). */
function earlyVersion3(db: DatabaseSync): boolean {
  const columns = db.prepare("PRAGMA table_info(streams)").all() as { name: string }[];
  return columns.length > 0 && !columns.some((c) => c.name === "known");
}

/** Gives `readings` of schema version 0 or 1 the columns of version 2. */
function upgradeReadings(db: DatabaseSync): void {
  const have = new Set(
    (db.prepare("PRAGMA table_info(readings)").all() as { name: string }[]).map((c) => c.name),
  );
  for (const [name, type] of ADDED_COLUMNS) {
    if (!have.has(name)) db.exec(`ALTER TABLE readings ADD COLUMN ${name} ${type}`);
  }
  if (!have.has("event")) db.exec("UPDATE readings SET event = anomaly, anomaly = 0");
}

/**
 * Writes each stream's `readings` rows, by time, as chunks of at most 4,096 rows, with what
 * retention knows of them (streams.ts). Streams are mapped to ids in SQL, not through JS
 * strings, which node:sqlite cuts at a NUL. A stream already in `streams` (a file downgraded,
 * written by an older version, then opened again) gets its rows after its chunks, as later
 * writes; its retention state is then brought up to date at its next flush.
 */
function convertReadings(db: DatabaseSync): void {
  const before = (db.prepare("SELECT coalesce(max(id), 0) AS id FROM streams").get() as {
    id: number;
  }).id;
  db.exec(
    `INSERT OR IGNORE INTO streams (machine, channel)
     SELECT DISTINCT machine, channel FROM readings`,
  );
  const insertChunk = db.prepare(
    "INSERT INTO chunks (stream, first, last, count, data) VALUES (?, ?, ?, ?, ?)",
  );
  // By stream: its rows converted, and the newest one's time.
  const converted = new Map<number, { rows: number; newest: number }>();
  let stream = -1;
  let rows: StoredRow[] = [];
  const write = () => {
    if (rows.length === 0) return;
    for (const c of rowChunks(rows)) insertChunk.run(stream, c.first, c.last, c.count, c.data);
    const done = converted.get(stream);
    converted.set(stream, { rows: (done?.rows ?? 0) + rows.length, newest: rows.at(-1)!.time });
    rows = [];
  };
  // In primary-key order: stream by stream, each by time.
  const all = db.prepare(
    `SELECT s.id AS stream, time, value, mean, std, zscore, threshold, anomaly, anomaly_ratio,
            event
     FROM readings r JOIN streams s ON s.machine = r.machine AND s.channel = r.channel
     ORDER BY r.machine, r.channel, r.time`,
  ).iterate() as Iterable<
    Omit<StoredRow, "anomaly" | "event"> & { stream: number; anomaly: number; event: number }
  >;
  for (const r of all) {
    if (r.stream !== stream) {
      write();
      stream = r.stream;
    }
    rows.push({
      time: r.time,
      value: r.value,
      mean: r.mean,
      std: r.std,
      zscore: r.zscore,
      threshold: r.threshold,
      // As the version-2 queries read them: a flag is set when it is 1.
      anomaly: r.anomaly === 1,
      anomaly_ratio: r.anomaly_ratio,
      event: r.event === 1,
    });
    if (rows.length === MAX_CHUNK_ENTRIES) write();
  }
  write();
  // A new stream's rows are exactly those converted, in time order; one that was there before
  // keeps its state, which its chunks written since (these) bring up to date.
  const known = (db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM chunks").get() as {
    seq: number;
  }).seq;
  const setState = db.prepare(
    "UPDATE streams SET rows = ?, newest = ?, last = ?, late = NULL, known = ? WHERE id = ?",
  );
  for (const [id, c] of converted) {
    if (id > before) setState.run(c.rows, c.newest, c.newest, known, id);
  }
}
