/**
 * The SQLite history store against a real file in a temp dir, fed through its listener methods
 * as the pipeline feeds it, and `/history` and `/analytics` through `app.request()`.
 *
 * Past ~400 lines: the whole suite of one component (history), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { analyticsRoutes } from "../../routes/analytics.ts";
import { historyRoutes } from "../../routes/history.ts";
import {
  type AnomalyEvent,
  HistoryStore,
  type HistoryStoreOptions,
  MAX_OUTLIERS,
  type ProcessedRow,
  type Reading,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
/** Reading `i` is at T0 + i seconds. */
const at = (i: number) => T0 + i * 1000;

const reading = (i: number, channels: Record<string, number>, machine = "m1"): Reading => ({
  timestamp: at(i),
  machine,
  status: "RUNNING",
  channels,
});

const row = (
  i: number,
  channels: Record<string, { current: number; moving_avg: number; zscore: number }>,
  machine = "m1",
): ProcessedRow => ({
  timestamp: iso(at(i)),
  machine,
  channels: Object.fromEntries(
    Object.entries(channels).map(([c, s]) => [c, { ...s, trend: "stable" as const }]),
  ),
  status_current: "RUNNING",
  status_mode: "RUNNING",
  status_changes: 0,
  health_score: 1,
  alerts: [],
});

const event = (
  i: number,
  channel: string | null,
  value: number | null,
  machine = "m1",
): AnomalyEvent => ({
  timestamp: iso(at(i)),
  machine,
  type: channel === null ? "HEARTBEAT_LOSS" : `ZSCORE_${channel.toUpperCase()}`,
  severity: "WARNING",
  channel,
  value,
  threshold: 3,
  description: "test",
});

/**
 * A stored entry fed through `readings`/`row`/`anomaly` only (no per-reading results): the
 * results the kernel alone knows stay null, the z-score flag false.
 */
const legacy = (
  time: number,
  value: number,
  mean: number | null,
  zscore: number | null,
  event: boolean,
) => ({
  time,
  value,
  mean,
  std: null,
  zscore,
  threshold: null,
  anomaly: false,
  anomaly_ratio: null,
  event,
});

/** Temperatures of readings 0…9: average 50, and 30, 80, 20 and 70 are more than 20 % off. */
const TEMPS = [50, 55, 30, 45, 80, 50, 20, 58, 70, 42];

/** A store on a fresh file in a temp dir; `dispose` closes it and removes the dir. */
async function tempStore(options: Partial<HistoryStoreOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "vigil_history_" });
  const path = join(dir, "history.sqlite");
  const store = new HistoryStore({ path, ...options });
  return {
    store,
    path,
    async [Symbol.asyncDispose]() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Feeds TEMPS (and speed = 2 × temperature) as the pipeline would, in two batches. */
function feed(store: HistoryStore) {
  const readings = TEMPS.map((t, i) => reading(i, { temperature: t, speed: t * 2 }));
  store.readings(readings.slice(0, 5));
  // Reading 4 closed a row; reading 4's temperature raised an event.
  store.row(row(4, {
    temperature: { current: 80, moving_avg: 52, zscore: 2.5 },
    speed: { current: 160, moving_avg: 104, zscore: 2.5 },
  }));
  store.anomaly(event(4, "temperature", 80));
  store.anomaly(event(4, null, null));
  store.readings(readings.slice(5));
  store.row(row(9, { temperature: { current: 42, moving_avg: 48, zscore: -0.4 } }));
  store.anomaly(event(6, "temperature", 20));
}

Deno.test("history: last N, oldest first, with the row's mean/zscore and the event flag", async () => {
  await using t = await tempStore();
  feed(t.store);
  assert.ok(t.store.pending > 0, "buffered until flushed");
  t.store.flush();
  assert.equal(t.store.pending, 0);

  const all = t.store.history({ machine: "m1", channel: "temperature" });
  assert.deepEqual(all.map((e) => e.value), TEMPS);
  assert.deepEqual(all.map((e) => e.time), TEMPS.map((_, i) => at(i)));
  assert.deepEqual(all[4], legacy(at(4), 80, 52, 2.5, true));
  assert.deepEqual(all[9], legacy(at(9), 42, 48, -0.4, false));
  assert.deepEqual(all[6], legacy(at(6), 20, null, null, true));
  assert.deepEqual(
    all.filter((e) => e.event).map((e) => e.time),
    [at(4), at(6)],
  );
  assert.deepEqual(all.filter((e) => e.mean !== null).map((e) => e.time), [at(4), at(9)]);

  const last3 = t.store.history({ machine: "m1", channel: "temperature", last: 3 });
  assert.deepEqual(last3.map((e) => e.value), [58, 70, 42]);

  // The speed channel got its own row results and no anomaly flag.
  const speed = t.store.history({ machine: "m1", channel: "speed" });
  assert.deepEqual(speed.map((e) => e.value), TEMPS.map((x) => x * 2));
  assert.deepEqual(speed[4], legacy(at(4), 160, 104, 2.5, false));
  assert.equal(speed[9]!.mean, null);

  assert.deepEqual(t.store.history({ machine: "m2", channel: "temperature" }), []);
  assert.deepEqual(t.store.history({ machine: "m1", channel: "voltage" }), []);
});

Deno.test("history: by time range, inclusive, and last N within it", async () => {
  await using t = await tempStore();
  feed(t.store);
  t.store.flush();
  const range = t.store.history({ machine: "m1", channel: "temperature", from: at(2), to: at(5) });
  assert.deepEqual(range.map((e) => e.value), [30, 45, 80, 50]);
  const fromOnly = t.store.history({ machine: "m1", channel: "temperature", from: at(8) });
  assert.deepEqual(fromOnly.map((e) => e.value), [70, 42]);
  const toOnly = t.store.history({ machine: "m1", channel: "temperature", to: at(1) });
  assert.deepEqual(toOnly.map((e) => e.value), [50, 55]);
  const lastInRange = t.store.history({
    machine: "m1",
    channel: "temperature",
    from: at(2),
    to: at(5),
    last: 2,
  });
  assert.deepEqual(lastInRange.map((e) => e.value), [80, 50]);
});

Deno.test("analytics: count, average, min, max and the readings > 20 % off, by hand", async () => {
  await using t = await tempStore();
  feed(t.store);
  t.store.flush();
  const a = t.store.analytics({ machine: "m1", channel: "temperature" });
  // Sum 500 over 10 readings; 20 % of 50 is 10, so anything outside [40, 60] is an outlier.
  assert.equal(a.count, 10);
  assert.equal(a.average, 50);
  assert.equal(a.minimum, 20);
  assert.equal(a.maximum, 80);
  assert.equal(a.first, at(0));
  assert.equal(a.last, at(9));
  assert.deepEqual(a.outliers, [
    { time: at(2), value: 30, deviation_pct: -40 },
    { time: at(4), value: 80, deviation_pct: 60 },
    { time: at(6), value: 20, deviation_pct: -60 },
    { time: at(8), value: 70, deviation_pct: 40 },
  ]);
  assert.equal(a.outliers_total, 4);

  // Readings 5…9: 50, 20, 58, 70, 42, average 48; 30 % of 48 is 14.4 → 20 and 70 are outliers.
  const r = t.store.analytics({
    machine: "m1",
    channel: "temperature",
    from: at(5),
    to: at(9),
    deviationPct: 30,
  });
  assert.equal(r.count, 5);
  assert.equal(r.average, 48);
  assert.equal(r.minimum, 20);
  assert.equal(r.maximum, 70);
  assert.deepEqual(r.outliers.map((o) => o.value), [20, 70]);

  const none = t.store.analytics({ machine: "m1", channel: "temperature", from: at(100) });
  assert.deepEqual(none, {
    count: 0,
    average: null,
    minimum: null,
    maximum: null,
    first: null,
    last: null,
    outliers: [],
    outliers_total: 0,
  });
  assert.throws(
    () => t.store.analytics({ machine: "m1", channel: "temperature", deviationPct: -1 }),
    RangeError,
  );
});

Deno.test("analytics: outliers are capped, outliers_total counts them all", async () => {
  await using t = await tempStore({ maxPending: 100_000 });
  const n = 1500;
  // Alternating 0 and 100: average 50, every reading 100 % off.
  t.store.readings(
    Array.from({ length: n }, (_, i) => reading(i, { value: i % 2 === 0 ? 0 : 100 })),
  );
  const a = t.store.analytics({ machine: "m1", channel: "value" });
  assert.equal(a.count, n);
  assert.equal(a.average, 50);
  assert.equal(a.outliers_total, n);
  assert.equal(a.outliers.length, MAX_OUTLIERS);
  assert.equal(a.outliers[0]!.time, at(0), "the oldest first");
  assert.equal(a.outliers.at(-1)!.time, at(MAX_OUTLIERS - 1));
});

Deno.test("retention: keeps the newest N per machine and channel, deletes the oldest", async () => {
  await using t = await tempStore({ retention: 4 });
  feed(t.store);
  t.store.flush();
  const temps = t.store.history({ machine: "m1", channel: "temperature" });
  assert.deepEqual(temps.map((e) => e.time), [at(6), at(7), at(8), at(9)]);
  assert.equal(t.store.history({ machine: "m1", channel: "speed" }).length, 4);
  // Another machine has its own allowance.
  t.store.readings([reading(0, { temperature: 1 }, "m2"), reading(1, { temperature: 2 }, "m2")]);
  t.store.flush();
  assert.equal(t.store.history({ machine: "m2", channel: "temperature" }).length, 2);
  assert.equal(t.store.history({ machine: "m1", channel: "temperature" }).length, 4);
  // A later flush keeps pruning.
  t.store.readings([reading(10, { temperature: 99 })]);
  t.store.flush();
  const after = t.store.history({ machine: "m1", channel: "temperature" });
  assert.deepEqual(after.map((e) => e.value), [58, 70, 42, 99]);
});

Deno.test("data survives close and reopen; close writes what was still buffered", async () => {
  await using t = await tempStore();
  feed(t.store);
  t.store.close(); // no explicit flush: close must write the buffer
  t.store.close(); // and a second close does nothing
  assert.throws(() => t.store.history({ machine: "m1", channel: "temperature" }), /closed/);
  const reopened = new HistoryStore({ path: t.path });
  try {
    const all = reopened.history({ machine: "m1", channel: "temperature" });
    assert.deepEqual(all.map((e) => e.value), TEMPS);
    assert.equal(all[4]!.mean, 52);
    assert.equal(all[4]!.event, true);
    // A reading seen again (a replay) updates its value and keeps its results.
    reopened.readings([reading(4, { temperature: 81 })]);
    const again = reopened.history({
      machine: "m1",
      channel: "temperature",
      from: at(4),
      to: at(4),
    });
    assert.deepEqual(again, [legacy(at(4), 81, 52, 2.5, true)]);
  } finally {
    reopened.close();
  }
});

Deno.test("buffer: flushed by the timer, and at once when maxPending is reached", async () => {
  await using t = await tempStore({ flushEvery: 10, maxPending: 5 });
  t.store.readings([reading(0, { a: 1, b: 2 })]);
  assert.equal(t.store.pending, 2);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(t.store.pending, 0, "the timer flushed");
  t.store.readings([reading(1, { a: 1, b: 2, c: 3, d: 4, e: 5 })]);
  assert.equal(t.store.pending, 0, "a full buffer flushed at once");
  // What was flushed is in the file: a second connection sees it.
  const other = new HistoryStore({ path: t.path });
  try {
    assert.equal(other.history({ machine: "m1", channel: "a" }).length, 2);
  } finally {
    other.close();
  }
});

Deno.test("a row or anomaly for a reading not stored: a row stands alone, a value-less event is dropped", async () => {
  await using t = await tempStore();
  t.store.row(row(3, { temperature: { current: 61, moving_avg: 60, zscore: 0.1 } }));
  t.store.anomaly(event(5, "temperature", null));
  t.store.anomaly(event(7, "temperature", 99));
  assert.deepEqual(t.store.history({ machine: "m1", channel: "temperature" }), [
    legacy(at(3), 61, 60, 0.1, false),
    legacy(at(7), 99, null, null, true),
  ]);
});

Deno.test("options out of range are refused", () => {
  for (
    const bad of [{ retention: 0 }, { flushEvery: -1 }, { maxPending: 1.5 }, { retention: NaN }]
  ) {
    assert.throws(() => new HistoryStore({ path: ":memory:", ...bad }), RangeError);
  }
});

// ---- routes ----

/** The sub-apps behind the same error mapping as `createApp`: HTTPException → JSON. */
function api(store: HistoryStore): Hono {
  const app = new Hono()
    .route("/history", historyRoutes(store))
    .route("/analytics", analyticsRoutes(store));
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return c.json({ success: false, error: err.message }, err.status);
    }
    throw err;
  });
  return app;
}

/** An entry as `/history` answers it: every field but `time`, which is `timestamp` there. */
const apiFields = ({ time: _, ...rest }: ReturnType<typeof legacy>) => rest;

async function get(app: Hono, url: string) {
  const res = await app.request(url);
  return { status: res.status, body: await res.json() };
}

Deno.test("GET /history: last N and time range", async () => {
  await using t = await tempStore();
  feed(t.store);
  const app = api(t.store);

  const { status, body } = await get(app, "/history?machine=m1&channel=temperature&last=2");
  assert.equal(status, 200);
  assert.deepEqual(body, {
    success: true,
    machine: "m1",
    channel: "temperature",
    count: 2,
    readings: [
      { timestamp: iso(at(8)), ...apiFields(legacy(at(8), 70, null, null, false)) },
      { timestamp: iso(at(9)), ...apiFields(legacy(at(9), 42, 48, -0.4, false)) },
    ],
  });

  const byDefault = await get(app, "/history?machine=m1&channel=temperature");
  assert.equal(byDefault.body.count, 10);

  const iso2 = encodeURIComponent(iso(at(2)));
  const ranged = await get(
    app,
    `/history?machine=m1&channel=temperature&from=${iso2}&to=${at(4)}`,
  );
  assert.equal(ranged.status, 200);
  assert.deepEqual(ranged.body.readings.map((r: { value: number }) => r.value), [30, 45, 80]);
  assert.equal(ranged.body.readings[2].event, true);

  // An offset-less date-time is UTC; an empty optional parameter is no filter.
  const noZone = await get(
    app,
    `/history?machine=m1&channel=temperature&from=2026-01-01T00:00:08&to=`,
  );
  assert.deepEqual(noZone.body.readings.map((r: { value: number }) => r.value), [70, 42]);

  // A machine never stored is a 404, as on every route; a known machine's unknown channel or
  // an empty range is an empty success.
  const unknown = await get(app, "/history?machine=m9&channel=temperature");
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, { success: false, error: "Unknown machine: m9" });
  const noChannel = await get(app, "/history?machine=m1&channel=nope");
  assert.equal(noChannel.status, 200);
  assert.equal(noChannel.body.count, 0);
});

Deno.test("GET /history: every bad query is a 400 naming the parameter and value", async () => {
  await using t = await tempStore();
  const app = api(t.store);
  const cases: [string, RegExp][] = [
    ["channel=temperature", /Missing parameter machine/],
    ["machine=m1", /Missing parameter channel/],
    ["", /Missing parameter machine.*Missing parameter channel/],
    ["machine=&channel=temperature", /Invalid machine "": must not be empty/],
    ["machine=m1&channel=", /Invalid channel "": must not be empty/],
    [`machine=${"x".repeat(201)}&channel=t`, /Invalid machine "x+": expected at most 200/],
    ["machine=m1&channel=t&last=0", /Invalid last "0": expected an integer from 1 to 100000/],
    ["machine=m1&channel=t&last=100001", /Invalid last "100001"/],
    ["machine=m1&channel=t&last=abc", /Invalid last "abc"/],
    ["machine=m1&channel=t&last=1.5", /Invalid last "1.5"/],
    ["machine=m1&channel=t&last=-3", /Invalid last "-3"/],
    ["machine=m1&channel=t&from=yesterday", /Invalid from "yesterday": expected ISO 8601/],
    ["machine=m1&channel=t&to=2026-02-30", /Invalid to "2026-02-30"/],
    [
      "machine=m1&channel=t&from=2026-01-02&to=2026-01-01",
      /from "2026-01-02" is after to "2026-01-01"/,
    ],
  ];
  for (const [query, error] of cases) {
    const { status, body } = await get(app, `/history?${query}`);
    assert.equal(status, 400, query);
    assert.equal(body.success, false, query);
    assert.match(body.error, error, query);
  }
});

Deno.test("GET /analytics: the summary and outliers, 404 for no data, 400 for bad queries", async () => {
  await using t = await tempStore();
  feed(t.store);
  const app = api(t.store);

  const { status, body } = await get(app, "/analytics?machine=m1&channel=temperature");
  assert.equal(status, 200);
  assert.deepEqual(body, {
    success: true,
    machine: "m1",
    channel: "temperature",
    from: iso(at(0)),
    to: iso(at(9)),
    count: 10,
    average: 50,
    minimum: 20,
    maximum: 80,
    deviation_pct: 20,
    outliers: [
      { timestamp: iso(at(2)), value: 30, deviation_pct: -40 },
      { timestamp: iso(at(4)), value: 80, deviation_pct: 60 },
      { timestamp: iso(at(6)), value: 20, deviation_pct: -60 },
      { timestamp: iso(at(8)), value: 70, deviation_pct: 40 },
    ],
    outliers_total: 4,
  });

  // 50 % of 50 is 25: only 80 and 20 are further off.
  const wide = await get(
    app,
    `/analytics?machine=m1&channel=temperature&deviation=50&from=${at(0)}&to=${at(9)}`,
  );
  assert.equal(wide.status, 200);
  assert.equal(wide.body.deviation_pct, 50);
  assert.deepEqual(wide.body.outliers.map((o: { value: number }) => o.value), [80, 20]);
  assert.equal(wide.body.from, iso(at(0)));

  for (
    const [query, error] of [
      ["machine=m9&channel=temperature", /^Unknown machine: m9$/],
      ["machine=m1&channel=temperature&from=2027-01-01", /No readings of machine/],
    ] as const
  ) {
    const none = await get(app, `/analytics?${query}`);
    assert.equal(none.status, 404, query);
    assert.equal(none.body.success, false);
    assert.match(none.body.error, error);
  }

  const cases: [string, RegExp][] = [
    ["channel=temperature", /Missing parameter machine/],
    ["machine=m1", /Missing parameter channel/],
    ["machine=&channel=t", /Invalid machine ""/],
    ["machine=m1&channel=t&deviation=-1", /Invalid deviation "-1": expected a number from 0/],
    ["machine=m1&channel=t&deviation=abc", /Invalid deviation "abc"/],
    ["machine=m1&channel=t&deviation=1e3", /Invalid deviation "1e3"/],
    ["machine=m1&channel=t&deviation=10001", /Invalid deviation "10001"/],
    ["machine=m1&channel=t&from=soon", /Invalid from "soon"/],
    ["machine=m1&channel=t&to=2026-13-01", /Invalid to "2026-13-01"/],
    ["machine=m1&channel=t&from=2000&to=1000", /from "2000" is after to "1000"/],
  ];
  for (const [query, error] of cases) {
    const res = await get(app, `/analytics?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.success, false, query);
    assert.match(res.body.error, error, query);
  }
});
