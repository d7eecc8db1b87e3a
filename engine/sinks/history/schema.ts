/**
 * The history file's schema: the one `readings` table, and the migration of files written by
 * older versions. Apart from the writes and the queries because it is the part that must keep
 * reading every file any earlier version wrote; a change of columns goes here, with its
 * migration, and bumps {@linkcode SCHEMA_VERSION}.
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** Columns added since the first schema, with their SQL type (see {@linkcode openHistoryDb}). */
const ADDED_COLUMNS = [
  ["std", "REAL"],
  ["threshold", "REAL"],
  ["anomaly_ratio", "REAL"],
  ["event", "INTEGER NOT NULL DEFAULT 0"],
] as const;

/** `PRAGMA user_version` of the current schema (the first one had 0). */
export const SCHEMA_VERSION = 2;

/**
 * Opens (or creates) the history file at `path` (`:memory:` for a throw-away one) with the
 * current schema, migrating a file of an older one in place.
 * @throws SQLite's error when the file cannot be opened or migrated.
 *
 * @example
 * ```ts
 * const db = openHistoryDb(":memory:");
 * db.prepare("PRAGMA user_version").get(); // { user_version: 2 }
 * db.close();
 * ```
 */
export function openHistoryDb(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // The primary key is the (machine, channel, time) index every query and upsert goes
  // through; WITHOUT ROWID stores the table in that index rather than twice.
  db.exec(`
      CREATE TABLE IF NOT EXISTS readings (
        machine TEXT NOT NULL,
        channel TEXT NOT NULL,
        time INTEGER NOT NULL,
        value REAL NOT NULL,
        mean REAL,
        zscore REAL,
        anomaly INTEGER NOT NULL DEFAULT 0,
        std REAL,
        threshold REAL,
        anomaly_ratio REAL,
        event INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (machine, channel, time)
      ) WITHOUT ROWID;
    `);
  migrate(db);
  return db;
}

/**
 * Brings a file of an older schema up to date, in one transaction: the first schema (no
 * `user_version`) had no `std`, `threshold`, `anomaly_ratio` and `event`, and its `anomaly`
 * meant "an event was raised here", which is now `event`; the z-score flag of those readings
 * is unknown, so their `anomaly` becomes 0 (their `threshold` stays null, which says so).
 */
function migrate(db: DatabaseSync): void {
  const have = new Set(
    (db.prepare("PRAGMA table_info(readings)").all() as { name: string }[]).map((c) => c.name),
  );
  const missing = ADDED_COLUMNS.filter(([name]) => !have.has(name));
  const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (missing.length === 0 && version === SCHEMA_VERSION) return;
  db.exec("BEGIN");
  try {
    for (const [name, type] of missing) {
      db.exec(`ALTER TABLE readings ADD COLUMN ${name} ${type}`);
    }
    if (!have.has("event")) db.exec("UPDATE readings SET event = anomaly, anomaly = 0");
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}
