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
 * and `last` bound the times a chunk holds, and the index on `(stream, last)` (and `seq`, the
 * rowid, which every index holds) selects the chunks of a time range, in the order of `last`
 * then write order without sorting them (the oldest for retention, the newest for
 * `/history?last=`). Not `(stream, last, first)`, which would spare reading `first` from each
 * chunk's row: its larger entries cost the live engine's writes a fifth more CPU per reading
 * (bench/history_bench.ts), for reads that merged chunks (merge.ts) keep few.
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
  CREATE INDEX IF NOT EXISTS chunks_by_stream ON chunks (stream, last);
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
 * Brings a file of an older schema up to date: its `readings` rows become chunks, stream by
 * stream in transactions of about {@linkcode CONVERT_BATCH} rows, each deleting the rows it
 * converted, so that the file holds both forms of at most that many rows at a time (in one
 * transaction it held both of every row: twice its size) and an interrupted conversion goes on
 * where it stopped at the next open; then `readings` is dropped. The first schema (no
 * `user_version`) had no `std`, `threshold`, `anomaly_ratio` and `event`, and its `anomaly`
 * meant "an event was raised here", which is now `event`; the z-score flag of those readings
 * is unknown, so their `anomaly` is false (their `threshold` stays null, which says so).
 */
function migrate(db: DatabaseSync): void {
  const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  const readings = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'",
  ).get() !== undefined;
  if (version === SCHEMA_VERSION && !readings && !earlyVersion3(db)) return;
  transaction(db, () => {
    if (earlyVersion3(db)) {
      for (const c of STATE_COLUMNS) db.exec(`ALTER TABLE streams ADD COLUMN ${c}`);
    }
    db.exec(TABLES);
    if (readings) {
      upgradeReadings(db);
      // Streams are mapped to ids in SQL, not through JS strings, which node:sqlite cuts at a
      // NUL; one already there (a file downgraded, then opened again) keeps its id.
      db.exec(
        `INSERT OR IGNORE INTO streams (machine, channel)
         SELECT DISTINCT machine, channel FROM readings`,
      );
    }
  });
  if (readings) {
    convertReadings(db);
    transaction(db, () => db.exec("DROP TABLE readings"));
  }
  transaction(db, () => db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`));
}

/** Runs `f` in a transaction: committed if it returns, rolled back if it throws. */
function transaction(db: DatabaseSync, f: () => void): void {
  db.exec("BEGIN");
  try {
    f();
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

/** Rows of `readings` converted per transaction (at least one stream's). */
export const CONVERT_BATCH = 100_000;

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
 * Writes each stream's `readings` rows, by time, as chunks of at most 4,096 rows, and deletes
 * them, a transaction per {@linkcode CONVERT_BATCH} rows or so. A stream that had no chunks
 * gets what retention knows of its rows (streams.ts); one that had (a file downgraded, written
 * by an older version, then opened again) gets them after its chunks, as later writes, and its
 * retention state is brought up to date at its next flush.
 */
function convertReadings(db: DatabaseSync): void {
  const streams = (db.prepare(
    `SELECT id FROM streams WHERE EXISTS
       (SELECT 1 FROM readings r WHERE r.machine = streams.machine AND r.channel = streams.channel)
     ORDER BY id`,
  ).all() as { id: number }[]).map((r) => r.id);
  // Names are matched in SQL (see migrate), by the stream's id.
  const ofStream = `machine = (SELECT machine FROM streams WHERE id = ?1)
                    AND channel = (SELECT channel FROM streams WHERE id = ?1)`;
  const rowsOf = db.prepare(
    `SELECT time, value, mean, std, zscore, threshold, anomaly, anomaly_ratio, event
     FROM readings WHERE ${ofStream} ORDER BY time`,
  );
  const deleteRows = db.prepare(`DELETE FROM readings WHERE ${ofStream}`);
  const blank = db.prepare(
    "SELECT floor IS NULL AND NOT EXISTS (SELECT 1 FROM chunks WHERE stream = ?1) AS blank " +
      "FROM streams WHERE id = ?1",
  );
  const insertChunk = db.prepare(
    "INSERT INTO chunks (stream, first, last, count, data) VALUES (?, ?, ?, ?, ?) RETURNING seq",
  );
  const setState = db.prepare(
    "UPDATE streams SET rows = ?, newest = ?, last = ?, late = NULL, known = ? WHERE id = ?",
  );
  let from = 0;
  while (from < streams.length) {
    transaction(db, () => {
      let converted = 0;
      while (from < streams.length && converted < CONVERT_BATCH) {
        const stream = streams[from++]!;
        const isBlank = (blank.get(stream) as { blank: number }).blank === 1;
        let rows: StoredRow[] = [], count = 0, newest = -Infinity, seq = 0;
        const write = () => {
          for (const c of rowChunks(rows)) {
            seq = (insertChunk.get(stream, c.first, c.last, c.count, c.data) as { seq: number })
              .seq;
          }
          rows = [];
        };
        for (const r of rowsOf.iterate(stream) as Iterable<Record<string, number>>) {
          rows.push({
            time: r.time!,
            value: r.value!,
            mean: r.mean ?? null,
            std: r.std ?? null,
            zscore: r.zscore ?? null,
            threshold: r.threshold ?? null,
            // As the version-2 queries read them: a flag is set when it is 1.
            anomaly: r.anomaly === 1,
            anomaly_ratio: r.anomaly_ratio ?? null,
            event: r.event === 1,
          });
          count++;
          newest = r.time!;
          if (rows.length === MAX_CHUNK_ENTRIES) write();
        }
        write();
        deleteRows.run(stream);
        converted += count;
        // Its rows are exactly those converted, in time order.
        if (isBlank && count > 0) setState.run(count, newest, newest, seq, stream);
      }
    });
  }
}
