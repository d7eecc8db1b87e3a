/**
 * The costs of the history chunks that are not answers, checked by what the store does rather
 * than by timing: retention keeps each stream's row count exact across late and repeated
 * readings and across a restart (no stream decoded whole to count it again, counted through
 * `retentionStats`), small chunks are merged (the chunk rows a stream of one value per flush
 * leaves), and the conversion of version-2 files keeps streams apart whose names differ after a
 * NUL, and appends to streams a downgrade left in `chunks`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { HistoryStore } from "../../engine/mod.ts";
import { retentionStats } from "../../engine/sinks/history/retention.ts";
import { MERGE_RUN } from "../../engine/sinks/history/merge.ts";

const T0 = Date.UTC(2026, 0, 1);

/** One reading of stream m/a at second `k`, flushed on its own (a 1 Hz plant's flush). */
function put(store: HistoryStore, k: number, value = k % 17): void {
  store.readings([{
    timestamp: T0 + k * 1000,
    machine: "m",
    status: null,
    channels: { a: value },
  }]);
  store.flush();
}

const times = (store: HistoryStore) =>
  store.history({ machine: "m", channel: "a" }).map((r) => (r.time - T0) / 1000);

/** The seconds kept: the newest `keep` distinct of `written`. */
const expected = (written: number[], keep: number) =>
  [...new Set(written)].sort((a, b) => a - b).slice(-keep);

Deno.test("retention: repeated and late readings at full retention keep the count exact, no stream counted whole", () => {
  const keep = 300;
  const store = new HistoryStore({ path: ":memory:", retention: keep });
  try {
    const written: number[] = [];
    const write = (k: number) => {
      put(store, k);
      written.push(k);
    };
    for (let k = 0; k < 2 * keep; k++) write(k);
    const counts = retentionStats.counts;
    // Each time twice (the second in the next flush), a redelivered older reading, a late new
    // time (a gap filled), then more in order: the late ones stay above the floor a while.
    for (let k = 2 * keep; k < 2 * keep + 50; k++) {
      write(k);
      write(k);
    }
    write(2 * keep + 10);
    write(2 * keep + 60);
    write(2 * keep + 55); // late, and new: a row more, so one more is cut
    for (let k = 2 * keep + 61; k < 4 * keep; k++) write(k);
    assert.equal(retentionStats.counts, counts, "no stream was decoded whole to count its rows");
    assert.deepEqual(times(store), expected(written, keep));
  } finally {
    store.close();
  }
});

Deno.test("retention: a restart starts from the stored count; a full stream is not counted again", () => {
  const dir = tempDir();
  const path = join(dir, "h.sqlite");
  const keep = 200;
  try {
    let store = new HistoryStore({ path, retention: keep });
    for (let k = 0; k < 3 * keep; k++) put(store, k);
    put(store, 3 * keep - 7); // late: the stream's entries are then not in time order
    put(store, 3 * keep); // a cut, which writes the state
    store.close();
    const db = new DatabaseSync(path);
    const row = db.prepare("SELECT rows, newest, late, known FROM streams").get() as Record<
      string,
      number
    >;
    db.close();
    assert.equal(row.rows, keep);
    assert.equal(row.newest, T0 + 3 * keep * 1000);
    assert.equal(row.late, T0 + (3 * keep - 7) * 1000);
    assert.notEqual(row.known, null);

    const counts = retentionStats.counts;
    store = new HistoryStore({ path, retention: keep });
    // Flushes that write no state (a repeat of the newest time), then some that do.
    put(store, 3 * keep);
    for (let k = 3 * keep + 1; k < 3 * keep + 10; k++) put(store, k);
    put(store, 3 * keep + 9);
    store.close();
    store = new HistoryStore({ path, retention: keep });
    put(store, 3 * keep + 9);
    store.close();
    store = new HistoryStore({ path, retention: keep });
    put(store, 3 * keep + 10);
    assert.equal(retentionStats.counts, counts, "reopened streams were not counted again");
    assert.deepEqual(
      times(store),
      Array.from({ length: keep }, (_, i) => 3 * keep + 11 - keep + i),
    );
    store.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** A directory in memory where there is a tmpfs: a flush syncs the file. */
const tempDir = () =>
  Deno.makeTempDirSync({
    dir: (() => {
      try {
        return Deno.statSync("/dev/shm").isDirectory ? "/dev/shm" : undefined;
      } catch {
        return undefined;
      }
    })(),
  });

Deno.test("chunks: a stream of one value per flush is merged into few chunk rows, answers unchanged", () => {
  const dir = tempDir();
  const path = join(dir, "h.sqlite");
  try {
    const file = new HistoryStore({ path, retention: 1_000_000 });
    // Two runs of runs merged twice, three runs merged once, and a few chunks not yet merged.
    const n = 2 * MERGE_RUN * MERGE_RUN + 3 * MERGE_RUN + 5;
    for (let k = 0; k < n; k++) put(file, k, k * 0.25);
    file.close();
    const db = new DatabaseSync(path);
    const chunks = db.prepare("SELECT count AS n FROM chunks ORDER BY seq").all().map((r) =>
      (r as { n: number }).n
    );
    db.close();
    // Without merging: one chunk per flush.
    assert.deepEqual(chunks, [
      MERGE_RUN * MERGE_RUN,
      MERGE_RUN * MERGE_RUN,
      MERGE_RUN,
      MERGE_RUN,
      MERGE_RUN,
      1,
      1,
      1,
      1,
      1,
    ]);
    const reopened = new HistoryStore({ path, retention: 1_000_000 });
    const all = reopened.history({ machine: "m", channel: "a" });
    assert.deepEqual(all.map((r) => r.value), Array.from({ length: n }, (_, k) => k * 0.25));
    assert.equal(reopened.analytics({ machine: "m", channel: "a" }).count, n);
    reopened.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

const V2_TABLE = `CREATE TABLE readings (
  machine TEXT NOT NULL, channel TEXT NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL,
  mean REAL, zscore REAL, anomaly INTEGER NOT NULL DEFAULT 0, std REAL, threshold REAL,
  anomaly_ratio REAL, event INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (machine, channel, time)) WITHOUT ROWID; PRAGMA user_version = 2;`;

Deno.test("conversion: names that differ after a NUL stay apart; a downgraded file opens again, its later rows appended", () => {
  const dir = tempDir();
  const path = join(dir, "h.sqlite");
  try {
    // Written by this version, then by version 2 (a downgrade: it sets user_version 2 and
    // creates `readings` beside the chunks), then opened by this version again.
    const store = new HistoryStore({ path, retention: 100 });
    put(store, 1, 10);
    put(store, 2, 20);
    store.close();
    const db = new DatabaseSync(path);
    db.exec(V2_TABLE);
    const insert = db.prepare(
      "INSERT INTO readings (machine, channel, time, value) VALUES (?, ?, ?, ?)",
    );
    insert.run("m", "a", T0 + 2000, 21); // rewrites second 2, written later
    insert.run("m", "a", T0 + 3000, 30);
    insert.run("m", "a\0x", T0, 1);
    insert.run("m", "a\0y", T0, 2);
    db.close();
    const again = new HistoryStore({ path, retention: 100 });
    try {
      assert.deepEqual(
        again.history({ machine: "m", channel: "a" }).map((r) => [(r.time - T0) / 1000, r.value]),
        [[1, 10], [2, 21], [3, 30]],
      );
      assert.equal(again.history({ machine: "m", channel: "a\0x" })[0]?.value, 1);
      assert.equal(again.history({ machine: "m", channel: "a\0y" })[0]?.value, 2);
      put(again, 4, 40);
      assert.equal(again.history({ machine: "m", channel: "a" }).length, 4);
    } finally {
      again.close();
    }
    const check = new DatabaseSync(path);
    const streams = (check.prepare("SELECT count(*) AS n FROM streams").get() as { n: number }).n;
    check.close();
    assert.equal(streams, 3);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("retention: a chunk that reuses a deleted chunk's seq is still in its stream's state across reopens", async () => {
  // SQLite gives a new chunk the table's largest seq plus one: once a cut deleted the chunk on
  // top, another stream's next chunk takes a seq at or below what a stream saved as covered.
  // (Found by review: the stream then grew past its retention for good.)
  const dir = await Deno.makeTempDir({ prefix: "vigil-seq-" });
  const path = join(dir, "h.sqlite");
  const open = (retention: number) =>
    new HistoryStore({ path, retention, flushEvery: 1e9, maxPending: 1e6 });
  const rd = (channel: string, ...times: number[]) =>
    times.map((t) => ({ timestamp: t, machine: "m", status: null, channels: { [channel]: t } }));
  try {
    for (const late of [false, true]) {
      await Deno.remove(path).catch(() => {});
      let h = open(3);
      h.readings(rd("t", 200, 300));
      h.flush();
      h.readings([...rd("s", 1, 2, 3, 4), ...rd("t", 100)]); // s cut: its state saved
      h.flush();
      h.close();
      h = open(1);
      h.readings(rd("t", 150)); // t cut to one row: the chunk on top deleted
      h.flush();
      h.close();
      h = open(10);
      h.readings(rd("s", ...(late ? [6, 5] : [5]))); // below retention: s's state not saved
      h.flush();
      h.close();
      h = open(10);
      for (let t = 7; t <= 40; t++) {
        h.readings(rd("s", t));
        h.flush();
      }
      h.close();
      h = open(10);
      const kept = h.history({ machine: "m", channel: "s" }).map((r) => r.time);
      h.close();
      assert.deepEqual(kept, Array.from({ length: 10 }, (_, i) => 31 + i), `late ${late}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
