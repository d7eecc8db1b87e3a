/**
 * Per-reading algorithm results in the history: real Analyzer (WASM kernel) + HistoryStore on a
 * temp SQLite file, checked against the reference kernel fed the same values; the threshold in
 * force, the anomaly ratio over a known flag pattern, retention, the migration of a file of the
 * first schema, and `/history` through `app.request()`.
 *
 * Past ~400 lines: the whole suite of one component (history results), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Hono } from "hono";
import { historyRoutes } from "../../routes/history.ts";
import { generateReadings } from "../../simulator/mod.ts";
import {
  Analyzer,
  ANOMALY_LIST_SIZE,
  EngineState,
  FILES,
  FileSource,
  FLAG,
  formatReading,
  HistoryStore,
  type KernelOptions,
  nullLogger,
  openRun,
  type Reading,
  ReferenceKernel,
  WasmKernel,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const at = (i: number) => T0 + i * 1000;

/** A temp dir removed on dispose. */
async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "vigil_history_results_" });
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What the reference kernel says of each value, stream by stream, in input order. */
class Expected {
  readonly kernel: ReferenceKernel;
  readonly #ids = new Map<string, number>();
  /** Per stream key: mean, std, z, flags of each of its readings, in order. */
  readonly results = new Map<string, { mean: number; std: number; z: number; flags: number }[]>();

  constructor(options: KernelOptions) {
    this.kernel = new ReferenceKernel(options);
  }

  feed(readings: readonly Reading[]): void {
    for (const r of readings) {
      for (const channel in r.channels) {
        const key = `${r.machine}|${channel}`;
        let id = this.#ids.get(key);
        if (id === undefined) {
          id = this.#ids.size;
          this.#ids.set(key, id);
          this.results.set(key, []);
        }
        const out = this.kernel.process({
          stream: Int32Array.of(id),
          time: Float64Array.of(r.timestamp),
          value: Float64Array.of(r.channels[channel]!),
        }, 1);
        this.results.get(key)!.push({
          mean: out.mean[0]!,
          std: out.std[0]!,
          z: out.zscore[0]!,
          flags: out.flags[0]!,
        });
      }
    }
  }
}

/** The ratio of set flags over the last `size` of `flags[0…i]`. */
function ratioAt(flags: readonly number[], i: number, size: number): number {
  const window = flags.slice(Math.max(0, i + 1 - size), i + 1);
  return window.reduce((a, b) => a + b, 0) / window.length;
}

Deno.test("pipeline → history: every reading's mean, std, z, flag, ratio and event as the reference kernel says", async () => {
  await using tmp = await tempDir();
  const readings = [
    ...generateReadings({
      machines: 2,
      seed: 5,
      count: 600,
      start: T0,
      intervalMs: 1000,
      faultRate: 0.05,
    }),
  ];
  const input = join(tmp.dir, "input.jsonl");
  await Deno.writeTextFile(input, readings.map(formatReading).join("\n") + "\n");
  // Small kernel batches: a pipeline batch of 13 readings × 2 channels spans two kernel calls.
  const kernel: KernelOptions = { modelSize: 20, batchCapacity: 16 };
  const listSize = 7;

  const replay = async (dataDir: string, store: HistoryStore | null) => {
    const run = await openRun({
      dataDir,
      source: `file:${input}`,
      streamDerived: true,
      state: new EngineState(),
      logger: nullLogger,
      kernel,
      sinks: store ? [store] : [],
    });
    const src = new FileSource(input, { format: "json", batchSize: 13 });
    return await run.run(src.readable);
  };
  const store = new HistoryStore({
    path: join(tmp.dir, "history.sqlite"),
    anomalyListSize: listSize,
  });
  try {
    const counts = await replay(join(tmp.dir, "with"), store);
    assert.equal(counts.readings, 600);

    const expected = new Expected(kernel);
    expected.feed(readings);
    const events = new Set(
      (await Deno.readTextFile(join(tmp.dir, "with", FILES.anomalies))).split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l))
        .filter((e) => e.channel !== null)
        .map((e) => `${Date.parse(e.timestamp)}|${e.machine}|${e.channel}`),
    );
    assert.ok(events.size > 0, "the faults raised events");
    let anomalies = 0;
    let withEvent = 0;
    for (const [key, want] of expected.results) {
      const [machine, channel] = key.split("|") as [string, string];
      const got = store.history({ machine, channel });
      assert.equal(got.length, want.length, key);
      const flags = want.map((w) => (w.flags & FLAG.ZSCORE ? 1 : 0));
      const mine = readings.filter((r) => r.machine === machine);
      for (let i = 0; i < want.length; i++) {
        const g = got[i]!;
        const w = want[i]!;
        const where = `${key} reading ${i}`;
        assert.equal(g.time, mine[i]!.timestamp, where);
        assert.equal(g.value, mine[i]!.channels[channel], where);
        // Exact: the WASM kernel and the reference agree bit for bit.
        assert.equal(g.mean, w.mean, where);
        assert.equal(g.std, w.std, where);
        assert.equal(g.zscore, w.z, where);
        assert.equal(g.threshold, 3, where);
        assert.equal(g.anomaly, flags[i] === 1, where);
        // The flag is the detector's: |z| > threshold with a full model.
        assert.equal(g.anomaly, Math.abs(w.z) > 3 && (w.flags & FLAG.MODEL_FULL) !== 0, where);
        assert.equal(g.anomaly_ratio, ratioAt(flags, i, listSize), where);
        assert.equal(g.event, events.has(`${g.time}|${machine}|${channel}`), where);
        anomalies += flags[i]!;
        if (g.event) withEvent++;
      }
    }
    assert.ok(anomalies > 0, "the faults made z-score anomalies");
    assert.equal(withEvent, events.size, "every event flags its reading");
  } finally {
    store.close();
  }
  // The per-reading results change nothing in the files: a run without the history store (no
  // `results` listener, so no per-reading copies, as in replay) writes the same bytes.
  await replay(join(tmp.dir, "without"), null);
  for (const name of [FILES.stream, FILES.analysis, FILES.anomalies, FILES.report]) {
    assert.equal(
      await Deno.readTextFile(join(tmp.dir, "without", name)),
      await Deno.readTextFile(join(tmp.dir, "with", name)),
      name,
    );
  }
});

Deno.test("analyzer: per-reading values only when asked, two reused sets, refused readings marked", () => {
  const rs = (from: number, n: number, machine = "m1"): Reading[] =>
    Array.from({ length: n }, (_, k) => ({
      timestamp: at(from + k),
      machine,
      status: "RUNNING",
      channels: { a: from + k, b: 2 * (from + k) },
    }));
  const plain = new Analyzer(new WasmKernel({ batchCapacity: 8 }));
  assert.equal(plain.analyze(rs(0, 10)).values, undefined, "replay computes nothing");

  const a = new Analyzer(new WasmKernel({ batchCapacity: 8, maxStreams: 4 }), {
    readingValues: true,
  });
  const ref = new Expected({ batchCapacity: 8, maxStreams: 4 });
  const first = rs(0, 10);
  const r1 = a.analyze(first);
  ref.feed(first);
  const v1 = r1.values!;
  assert.equal(v1.count, 20);
  assert.deepEqual([...v1.first.subarray(0, 10)], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  // Entries in reading-channel order: a, b of reading 0, then of reading 1, …
  const a0 = ref.results.get("m1|a")!;
  const b0 = ref.results.get("m1|b")!;
  for (let i = 0; i < 10; i++) {
    assert.equal(v1.mean[2 * i], a0[i]!.mean);
    assert.equal(v1.mean[2 * i + 1], b0[i]!.mean);
    assert.equal(v1.zscore[2 * i + 1], b0[i]!.z);
  }
  const kept = v1.mean.slice(0, v1.count);
  // The next call fills the other set: the first call's values are still intact.
  const r2 = a.analyze(rs(10, 3));
  assert.notEqual(r2.values, v1);
  assert.deepEqual(v1.mean.slice(0, v1.count), kept);
  // The one after reuses the first set.
  assert.equal(a.analyze(rs(13, 1)).values, v1);
  // m2 and m3 need four more streams than the two left: m3's readings are refused (-1).
  const mixed = [...rs(20, 1, "m2"), ...rs(20, 1, "m3"), ...rs(21, 1)];
  const r4 = a.analyze(mixed);
  assert.equal(r4.rejected.length, 1);
  assert.deepEqual([...r4.values!.first.subarray(0, 3)], [0, -1, 2]);
  assert.equal(r4.values!.count, 4);
});

/**
 * One stream "v" whose z-score flags are known: 10 readings alternating 10 and 11 fill the model
 * (size 10: mean 10.5, std 0.5), then `pattern` (1: a spike of 100, z = 179, kept out of the
 * model; 0: the next of the alternation, |z| = 1). Every normal reading keeps the model at five
 * 10s and five 11s, so the flags are exactly 10 zeros and the pattern.
 */
function flagged(pattern: readonly number[]): Reading[] {
  const out: Reading[] = [];
  let normal = 0;
  const next = () => (normal++ % 2 === 0 ? 10 : 11);
  for (let i = 0; i < 10; i++) out.push(vReading(out.length, next()));
  for (const p of pattern) out.push(vReading(out.length, p ? 100 : next()));
  return out;
}

const vReading = (i: number, v: number): Reading => ({
  timestamp: at(i),
  machine: "m1",
  status: "RUNNING",
  channels: { v },
});

const PATTERN = [1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0];
/** Over the last 4 readings, worked out by hand: the 10 model readings are zeros. */
const RATIOS_4 = [
  ...Array(10).fill(0),
  0.25,
  0.25,
  0.25,
  0.5,
  0.5,
  0.5,
  0.75,
  0.75,
  0.75,
  1,
  0.75,
  0.5,
  0.25,
  0,
];

Deno.test("history: anomaly flags and ratio over a known pattern; the ratio continues after a reopen", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.dir, "history.sqlite");
  const analyzer = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
  const readings = flagged(PATTERN);
  // Three batches, the store closed and reopened before the last: its ring is rebuilt from
  // the file, so the ratio goes on as if nothing happened.
  let store = new HistoryStore({ path, anomalyListSize: 4 });
  store.results(readings.slice(0, 12), analyzer.analyze(readings.slice(0, 12)));
  store.results(readings.slice(12, 17), analyzer.analyze(readings.slice(12, 17)));
  store.close();
  store = new HistoryStore({ path, anomalyListSize: 4 });
  try {
    store.results(readings.slice(17), analyzer.analyze(readings.slice(17)));
    const got = store.history({ machine: "m1", channel: "v" });
    assert.deepEqual(got.map((e) => (e.anomaly ? 1 : 0)), [...Array(10).fill(0), ...PATTERN]);
    assert.deepEqual(got.map((e) => e.anomaly_ratio), RATIOS_4);
    assert.deepEqual(got.map((e) => e.value), readings.map((r) => r.channels.v));
    // The model: mean 10.5 and std 0.5, so a spike's z is (100 - 10.5) / 0.5.
    assert.equal(got[10]!.zscore, 179);
    assert.equal(Math.abs(got[11]!.zscore!), 1);
    // A ZSCORE event is raised when a run of anomalies starts: readings 10, 13 and 16.
    assert.deepEqual(got.flatMap((e, i) => (e.event ? [i] : [])), [10, 13, 16]);
  } finally {
    store.close();
  }
  // The default list is 100 readings: with 24 readings so far, ratio = anomalies / readings.
  assert.equal(ANOMALY_LIST_SIZE, 100);
  const analyzer2 = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
  const store2 = new HistoryStore({ path: ":memory:" });
  try {
    store2.results(readings, analyzer2.analyze(readings));
    const got = store2.history({ machine: "m1", channel: "v" });
    const flags = [...Array(10).fill(0), ...PATTERN];
    got.forEach((e, i) => assert.equal(e.anomaly_ratio, ratioAt(flags, i, 100)));
    assert.equal(got.at(-1)!.anomaly_ratio, 7 / 24);
  } finally {
    store2.close();
  }
});

Deno.test("history: results without the analyzer's values are refused, nothing stored; readings still are", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.dir, "history.sqlite");
  const readings = flagged(PATTERN);
  const store = new HistoryStore({ path });
  try {
    // No `readingValues`: the pipeline then feeds the store through readings, row and anomaly.
    const result = new Analyzer(new WasmKernel({ modelSize: 10 })).analyze(readings);
    assert.equal(result.values, undefined);
    assert.throws(
      () => store.results(readings, result),
      (e) => e instanceof TypeError && /24 readings has no per-reading values/.test(e.message),
    );
    assert.equal(store.pending, 0);
    assert.deepEqual(store.history({ machine: "m1", channel: "v" }), []);
    store.readings(readings);
    const got = store.history({ machine: "m1", channel: "v" });
    assert.deepEqual(got.map((e) => [e.value, e.mean]), readings.map((r) => [r.channels.v, null]));
  } finally {
    store.close();
  }
  // Written to the file, not only buffered: a store opened afresh reads them.
  const again = new HistoryStore({ path });
  try {
    assert.equal(again.history({ machine: "m1", channel: "v" }).length, 24);
  } finally {
    again.close();
  }
});

Deno.test("history: the threshold in force is recorded, a change applies from the next batch", async () => {
  await using tmp = await tempDir();
  const store = new HistoryStore({ path: join(tmp.dir, "history.sqlite") });
  const analyzer = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
  const ref = new Expected({ modelSize: 10 });
  // The model (10, 11, …: mean 10.5, std 0.5), then 12.2 (z = 3.4) in each batch: an anomaly
  // at threshold 3, not at 4.
  const readings = flagged([]);
  readings.push(vReading(10, 12.2), vReading(11, 10));
  const second = [vReading(12, 12.2), vReading(13, 11)];
  try {
    analyzer.setZThreshold(3);
    store.results(readings, analyzer.analyze(readings));
    ref.feed(readings);
    analyzer.setZThreshold(4);
    ref.kernel.setZThreshold(4);
    store.results(second, analyzer.analyze(second));
    ref.feed(second);
    const got = store.history({ machine: "m1", channel: "v" });
    assert.deepEqual(got.map((e) => e.threshold), [...Array(12).fill(3), 4, 4]);
    assert.equal(got[10]!.zscore, ref.results.get("m1|v")![10]!.z);
    assert.ok(Math.abs(got[10]!.zscore! - 3.4) < 1e-9);
    assert.equal(got[10]!.anomaly, true, "z 3.4 > 3");
    assert.ok(Math.abs(got[12]!.zscore! - 3.4) < 1e-9);
    assert.equal(got[12]!.anomaly, false, "z 3.4 < 4 after the change");
    assert.deepEqual(
      got.map((e) => e.anomaly),
      ref.results.get("m1|v")!.map((w) => (w.flags & FLAG.ZSCORE) !== 0),
    );
  } finally {
    store.close();
  }
});

Deno.test("history: retention still keeps the newest N per series, with their results", async () => {
  await using tmp = await tempDir();
  const store = new HistoryStore({
    path: join(tmp.dir, "history.sqlite"),
    retention: 5,
    anomalyListSize: 4,
  });
  try {
    const analyzer = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
    const readings = flagged(PATTERN);
    store.results(readings.slice(0, 20), analyzer.analyze(readings.slice(0, 20)));
    store.flush();
    store.results(readings.slice(20), analyzer.analyze(readings.slice(20)));
    const got = store.history({ machine: "m1", channel: "v" });
    assert.deepEqual(got.map((e) => e.time), [19, 20, 21, 22, 23].map(at));
    assert.deepEqual(got.map((e) => e.anomaly_ratio), RATIOS_4.slice(19));
  } finally {
    store.close();
  }
});

/** The first schema, as the store before per-reading results created it. */
const OLD_SCHEMA = `
  CREATE TABLE readings (
    machine TEXT NOT NULL,
    channel TEXT NOT NULL,
    time INTEGER NOT NULL,
    value REAL NOT NULL,
    mean REAL,
    zscore REAL,
    anomaly INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (machine, channel, time)
  ) WITHOUT ROWID;
`;

Deno.test("history: a file of the first schema is migrated in place and keeps its readings", async () => {
  await using tmp = await tempDir();
  const path = join(tmp.dir, "history.sqlite");
  const old = new DatabaseSync(path);
  old.exec(OLD_SCHEMA);
  const insert = old.prepare(
    "INSERT INTO readings (machine, channel, time, value, mean, zscore, anomaly) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  insert.run("m1", "v", at(0), 10, null, null, 0);
  insert.run("m1", "v", at(1), 11, 10.5, 0.7, 0);
  insert.run("m1", "v", at(2), 99, null, null, 1); // an event was raised on it
  old.close();

  const store = new HistoryStore({ path, anomalyListSize: 4 });
  try {
    const before = store.history({ machine: "m1", channel: "v" });
    const stored = { std: null, threshold: null, anomaly: false, anomaly_ratio: null };
    assert.deepEqual(before, [
      { time: at(0), value: 10, mean: null, zscore: null, ...stored, event: false },
      { time: at(1), value: 11, mean: 10.5, zscore: 0.7, ...stored, event: false },
      { time: at(2), value: 99, mean: null, zscore: null, ...stored, event: true },
    ]);
    // New readings with results go into the migrated file.
    const analyzer = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
    const later = flagged([1]).map((r, i) => ({ ...r, timestamp: at(10 + i) }));
    store.results(later, analyzer.analyze(later));
    const after = store.history({ machine: "m1", channel: "v", from: at(10) });
    assert.equal(after.length, 11);
    assert.equal(after[10]!.anomaly, true);
    assert.equal(after[10]!.threshold, 3);
    // Readings without results (the old ones) are not counted in the ratio.
    assert.equal(after[0]!.anomaly_ratio, 0);
    assert.equal(after[10]!.anomaly_ratio, 0.25);
  } finally {
    store.close();
  }
  // Converted: the rows are chunks now, the old table is gone.
  const db = new DatabaseSync(path);
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[]).map((t) => t.name);
    assert.deepEqual(tables, ["chunks", "streams"]);
    assert.equal(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      3,
    );
  } finally {
    db.close();
  }
  // Opening a current file again changes nothing.
  const again = new HistoryStore({ path });
  try {
    assert.equal(again.history({ machine: "m1", channel: "v" }).length, 14);
    assert.equal(again.history({ machine: "m1", channel: "v", last: 1 })[0]!.anomaly, true);
    assert.equal(
      again.history({ machine: "m1", channel: "v", from: at(2), to: at(2) })[0]!.event,
      true,
    );
  } finally {
    again.close();
  }
});

Deno.test("GET /history: every reading with its std, threshold, anomaly, anomaly_ratio and event", async () => {
  await using tmp = await tempDir();
  const store = new HistoryStore({ path: join(tmp.dir, "history.sqlite"), anomalyListSize: 4 });
  try {
    const analyzer = new Analyzer(new WasmKernel({ modelSize: 10 }), { readingValues: true });
    const readings = flagged(PATTERN);
    store.results(readings, analyzer.analyze(readings));
    const app = new Hono().route("/history", historyRoutes(store));
    const res = await app.request("/history?machine=m1&channel=v&last=3");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.count, 3);
    const stored = store.history({ machine: "m1", channel: "v", last: 3 });
    assert.deepEqual(
      body.readings,
      stored.map((e) => ({
        timestamp: new Date(e.time).toISOString(),
        value: e.value,
        mean: e.mean,
        std: e.std,
        zscore: e.zscore,
        threshold: 3,
        anomaly: false,
        anomaly_ratio: e.anomaly_ratio,
        event: false,
      })),
    );
    assert.deepEqual(body.readings.map((r: { anomaly_ratio: number }) => r.anomaly_ratio), [
      0.5,
      0.25,
      0,
    ]);
    const ranged = await (await app.request(
      `/history?machine=m1&channel=v&from=${at(16)}&to=${at(17)}`,
    )).json();
    assert.deepEqual(
      ranged.readings.map((r: Record<string, unknown>) => [
        r.value,
        r.anomaly,
        r.anomaly_ratio,
        r.event,
      ]),
      [[100, true, 0.75, true], [100, true, 0.75, false]],
    );
    assert.equal(ranged.readings[0].zscore, 179);
    // The moving average of the last 5 readings (the default window).
    const sum = readings.slice(12, 17).reduce((s, r) => s + r.channels.v!, 0);
    assert.ok(Math.abs(ranged.readings[0].mean - sum / 5) < 1e-9);
  } finally {
    store.close();
  }
});
