/**
 * The batched history writes against a real SQLite file: multi-row statements hold exactly what
 * one statement per row would (repeated keys included, every chunk size), a flush sorted by key
 * still lets the later of two readings with one key win, and retention kept by counting stays
 * right across flushes, a reopen with a smaller retention, many streams and a rolled-back flush.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ChunkedInsert } from "../../engine/sinks/history/chunked_insert.ts";
import { KIND, PendingWrites } from "../../engine/sinks/history/pending.ts";
import { HistoryStore, type Reading } from "../../engine/mod.ts";
import { FLAG } from "../../engine/core/analysis.ts";
import { RowTable } from "../../engine/core/row_table.ts";
import { prng } from "../helpers.ts";

const T0 = Date.UTC(2026, 0, 1);
const at = (i: number) => T0 + i * 1000;

/** A temp dir, removed on dispose. */
const tempDir = async () => {
  const dir = await Deno.makeTempDir({ prefix: "vigil_history_batch_" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
};

const reading = (i: number, machine: string, channels: Record<string, number>): Reading => ({
  timestamp: at(i),
  machine,
  status: "RUNNING",
  channels,
});

const UPSERT = "ON CONFLICT (k, t) DO UPDATE SET v = excluded.v, e = max(e, excluded.e)";

Deno.test("ChunkedInsert: every row count gives what one statement per row gives", async () => {
  await using t = await tempDir();
  const db = new DatabaseSync(join(t.dir, "chunks.sqlite"));
  try {
    for (const table of ["chunked", "single"]) {
      db.exec(`CREATE TABLE ${table} (k TEXT, t INTEGER, v REAL, e INTEGER,
               PRIMARY KEY (k, t)) WITHOUT ROWID`);
    }
    const chunked = new ChunkedInsert(db, "chunked", ["k", "t", "v", "e"], UPSERT);
    const single = db.prepare(`INSERT INTO single (k, t, v, e) VALUES (?, ?, ?, ?) ${UPSERT}`);
    // One transaction, as a flush has (one per statement would sync the file each time).
    db.exec("BEGIN");
    const random = prng(1);
    for (const rows of [0, 1, 15, 16, 17, 255, 256, 257, 273, 600]) {
      const values: (string | number)[] = [];
      for (let i = 0; i < rows; i++) {
        // Few keys, so that many rows repeat one within a statement and across statements.
        values.push(`k${Math.floor(random() * 5)}`, Math.floor(random() * 40), random(), 0);
        if (random() < 0.1) values[values.length - 1] = 1;
      }
      chunked.run(rows, (params, at, row) => {
        for (let k = 0; k < 4; k++) params[at + k] = values[row * 4 + k]!;
      });
      for (let i = 0; i < rows; i++) single.run(...values.slice(i * 4, i * 4 + 4));
      const all = (table: string) =>
        db.prepare(`SELECT k, t, v, e FROM ${table} ORDER BY k, t`).all();
      assert.deepEqual(all("chunked"), all("single"), `after ${rows} rows`);
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
});

/** An analysis result giving each channel value of `readings` the results `mean = value`. */
function results(readings: readonly Reading[], events: [number, string][] = []) {
  let n = 0;
  const first = new Int32Array(readings.length);
  readings.forEach((r, i) => {
    first[i] = n;
    n += Object.keys(r.channels).length;
  });
  const values = readings.flatMap((r) => Object.values(r.channels));
  return {
    rows: new RowTable(),
    events: events.map(([index, channel]) => ({
      index,
      event: {
        timestamp: new Date(readings[index]!.timestamp).toISOString(),
        machine: readings[index]!.machine,
        type: `ZSCORE_${channel.toUpperCase()}`,
        channel,
        value: readings[index]!.channels[channel]!,
        severity: "WARNING" as const,
        threshold: 3,
        description: "test",
      },
    })),
    rejected: [],
    values: {
      count: n,
      first,
      mean: Float64Array.from(values),
      std: new Float64Array(n).fill(1),
      zscore: new Float64Array(n),
      flags: new Uint32Array(n).fill(FLAG.MODEL_FULL),
      zThreshold: 3,
    },
  };
}

Deno.test("PendingWrites: columns grow to the flush bound exactly, then by an eighth, keeping every entry", () => {
  const pending = new PendingWrites(3000);
  const push = (i: number) => {
    const at = pending.push(KIND.result, `m${i}`, "c", i, i / 2);
    pending.zscore[at] = -i;
  };
  for (let i = 0; i < 3000; i++) push(i);
  // 1,024 → 2,048 → 3,000, not 4,096.
  assert.equal(pending.kind.length, 3000);
  assert.equal(pending.ratio.length, 3000);
  push(3000);
  assert.equal(pending.kind.length, 3375);
  for (const i of [0, 1023, 1024, 2999, 3000]) {
    assert.deepEqual(
      [pending.machine[i], pending.time[i], pending.value[i], pending.zscore[i], pending.kind[i]],
      [`m${i}`, i, i / 2, -i, KIND.result],
    );
    assert.ok(Number.isNaN(pending.mean[i]!));
  }
  // Unbounded (the default), the columns double.
  const free = new PendingWrites();
  for (let i = 0; i < 1025; i++) free.push(KIND.reading, "m", "c", i, i);
  assert.equal(free.kind.length, 2048);
});

Deno.test("one flush: readings of many machines written sorted; a repeated key keeps the later", async () => {
  await using t = await tempDir();
  const store = new HistoryStore({ path: join(t.dir, "history.sqlite"), maxPending: 100_000 });
  try {
    // Machines arrive in reverse key order, several readings each, one reading repeated.
    const batch: Reading[] = [];
    for (let i = 0; i < 50; i++) {
      for (let m = 9; m >= 0; m--) batch.push(reading(i, `m${m}`, { a: i * 10 + m, b: -i }));
    }
    batch.push(reading(7, "m3", { a: 1234, b: 5 }));
    // The event is on the first m3 reading at 7; the repeat carries none and must not clear it.
    store.results(batch, results(batch, [[7 * 10 + 6, "a"]]));
    store.flush();
    for (let m = 0; m < 10; m++) {
      const a = store.history({ machine: `m${m}`, channel: "a" });
      assert.deepEqual(a.map((e) => e.time), Array.from({ length: 50 }, (_, i) => at(i)));
      if (m !== 3) assert.deepEqual(a.map((e) => e.value), a.map((_, i) => i * 10 + m));
    }
    const m3 = store.history({ machine: "m3", channel: "a", from: at(7), to: at(7) });
    assert.equal(m3.length, 1);
    assert.equal(m3[0]!.value, 1234, "the later reading of one key wins");
    assert.equal(m3[0]!.mean, 1234);
    assert.equal(m3[0]!.event, true, "an event flag stays set");
    assert.equal(
      store.history({ machine: "m3", channel: "b", from: at(7), to: at(7) })[0]!.value,
      5,
    );
  } finally {
    store.close();
  }
});

Deno.test("retention by count: right across flushes, a reopen, many streams, a rollback", async () => {
  await using t = await tempDir();
  const path = join(t.dir, "history.sqlite");
  const times = (s: HistoryStore, machine: string) =>
    s.history({ machine, channel: "a" }).map((e) => e.time);
  const range = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => at(from + i));
  // Counts kept (the default maxStreams), then with more streams than maxStreams, so the
  // counts are forgotten and counted again.
  let store = new HistoryStore({ path });
  for (const maxStreams of [4096, 2]) {
    store.close();
    Deno.removeSync(path);
    store = new HistoryStore({ path, retention: 5, maxStreams });
    for (let i = 0; i < 12; i++) {
      store.readings(["m1", "m2", "m3"].map((m) => reading(i, m, { a: i })));
      store.flush();
      for (const m of ["m1", "m2", "m3"]) {
        assert.deepEqual(times(store, m), range(Math.max(0, i - 4), i + 1), `${m} after ${i}`);
      }
    }
  }
  // A repeated reading adds no row: the count it added is corrected, nothing more is cut.
  store.readings([reading(11, "m1", { a: 99 })]);
  store.flush();
  assert.deepEqual(times(store, "m1"), range(7, 12));
  store.close();
  // Reopened with more kept, then with fewer: the file's rows are counted, not assumed.
  store = new HistoryStore({ path, retention: 8 });
  store.readings([reading(12, "m1", { a: 12 })]);
  store.flush();
  assert.deepEqual(times(store, "m1"), range(7, 13));
  store.close();
  store = new HistoryStore({ path, retention: 3 });
  store.readings([reading(13, "m1", { a: 13 })]);
  store.flush();
  assert.deepEqual(times(store, "m1"), range(11, 14));
  // A flush that fails is rolled back (its deletes too): the next one still cuts to 3.
  store.readings([reading(14, "m1", { a: 14 }), reading(15, "m1", { a: Number.NaN })]);
  assert.throws(() => store.flush(), /NOT NULL|constraint/i);
  assert.deepEqual(times(store, "m1"), range(11, 14));
  store.readings([reading(16, "m1", { a: 16 }), reading(17, "m1", { a: 17 })]);
  store.flush();
  assert.deepEqual(times(store, "m1"), [at(13), at(16), at(17)]);
  store.close();
});

Deno.test("retention at capacity: new, repeated and older readings, against a model", async () => {
  // Full streams are cut from the oldest end while their counts are exact (only newer readings
  // came) and from the newest end otherwise: either way, exactly the newest `keep` remain.
  await using t = await tempDir();
  const path = join(t.dir, "history.sqlite");
  const keep = 6;
  const random = prng(7);
  const model = new Map<string, Set<number>>(["m1", "m2"].map((m) => [m, new Set()]));
  const expected = (m: string) => [...model.get(m)!].sort((a, b) => a - b).slice(-keep);
  let store = new HistoryStore({ path, retention: keep });
  let next = 0;
  for (let flush = 0; flush < 60; flush++) {
    const batch: Reading[] = [];
    for (let k = Math.floor(random() * 9); k > 0; k--) {
      const m = random() < 0.5 ? "m1" : "m2";
      // Mostly newer readings; sometimes one repeated or older than the newest kept.
      const i = random() < 0.75 ? next++ : Math.max(0, next - 1 - Math.floor(random() * 10));
      batch.push(reading(i, m, { a: i }));
    }
    store.readings(batch);
    store.flush();
    for (const r of batch) model.get(r.machine)!.add(r.timestamp);
    for (const m of model.keys()) {
      const kept = expected(m);
      model.set(m, new Set(kept));
      assert.deepEqual(
        store.history({ machine: m, channel: "a", last: 100 }).map((e) => e.time),
        kept,
        `${m} after flush ${flush}`,
      );
    }
    // Reopened now and then: the counts start again from the file.
    if (flush % 20 === 19) {
      store.close();
      store = new HistoryStore({ path, retention: keep });
    }
  }
  store.close();
});
