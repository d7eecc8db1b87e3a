/**
 * The history's chunks (schema version 3) against the table they replaced: the chunk codec
 * round-trips every field, and random interleavings of the four kinds of writes (results,
 * readings, rows, anomaly events; repeated and older times, nulls, -0) through `HistoryStore`
 * answer `/history`, `/analytics` and the machine check exactly as the version-2 table answers
 * them, built in SQLite here and fed the same writes by a port of the version-2 writer's upserts
 * (and its retention, and its anomaly-ratio rings). The same table, written to a file of
 * version 2, is then converted by opening it, and must answer the same again.
 *
 * Past ~400 lines: the whole suite of one component (the chunks against the table they
 * replaced), whose cases share the version-2 port of this file.
 */
import type { ReadingValues } from "../../engine/core/analysis.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { decodeChunk, encodeChunk } from "../../engine/sinks/history/chunk_codec.ts";
import { KIND, PendingWrites } from "../../engine/sinks/history/pending.ts";
import { FlagRings } from "../../engine/sinks/history/flag_ring.ts";
import {
  type AnomalyEvent,
  FLAG,
  HistoryStore,
  type ProcessedRow,
  type Reading,
} from "../../engine/mod.ts";
import { RowTable } from "../../engine/core/row_table.ts";
import { retentionCheck } from "../../engine/sinks/history/retention.ts";
import { prng } from "../helpers.ts";

Deno.test("chunk codec: every field round-trips, nulls and -0 as the table kept them, aligned or not; empty columns left out", () => {
  const random = prng(3);
  const p = new PendingWrites();
  const pick = () => {
    const r = random();
    return r < 0.2 ? NaN : r < 0.25 ? -0 : r < 0.28 ? Infinity : (random() - 0.5) * 1e6;
  };
  for (let i = 0; i < 300; i++) {
    const kind = [KIND.result, KIND.reading, KIND.row, KIND.anomaly][i % 4]!;
    const j = p.push(kind, "m", "c", Math.floor(random() * 1e12), pick());
    p.mean[j] = pick();
    p.std[j] = pick();
    p.zscore[j] = pick();
    p.threshold[j] = pick();
    p.ratio[j] = pick();
    p.anomaly[j] = random() < 0.5 ? 1 : 0;
    p.event[j] = random() < 0.5 ? 1 : 0;
  }
  // Every third entry, backwards: a chunk holds the entries it is given, in that order.
  const at = Array.from({ length: 100 }, (_, k) => 297 - 3 * k);
  const blob = encodeChunk(p, at, at.length);
  const unaligned = new Uint8Array(blob.length + 3).subarray(3);
  unaligned.set(blob);
  for (const c of [decodeChunk(blob), decodeChunk(unaligned)]) {
    assert.equal(c.length, 100);
    at.forEach((i, k) => {
      for (const f of ["time", "value", "mean", "std", "zscore", "threshold", "ratio"] as const) {
        // -0 comes back 0, as a REAL column stored it; NaN (null) stays NaN.
        assert.ok(Object.is(c[f][k], p[f][i]! === 0 ? 0 : p[f][i]), `${f} of entry ${i}`);
      }
      for (const f of ["kind", "anomaly", "event"] as const) assert.equal(c[f][k], p[f][i]);
    });
  }
  // Readings without results: only time, value and kind are stored (8 + 8 + 1 bytes each), and
  // the rest reads back null and 0.
  const plain = new PendingWrites();
  for (let i = 0; i < 10; i++) plain.push(KIND.reading, "m", "c", i, i / 3);
  const small = encodeChunk(plain, Array.from({ length: 10 }, (_, i) => i), 10);
  assert.equal(small.length, 8 + 10 * 17);
  const back = decodeChunk(small);
  assert.deepEqual([...back.value], Array.from({ length: 10 }, (_, i) => i / 3));
  assert.ok(back.mean.every(Number.isNaN) && back.ratio.every(Number.isNaN));
  assert.deepEqual([...back.kind], Array(10).fill(KIND.reading));
  assert.deepEqual([...back.event], Array(10).fill(0));
  assert.throws(() => decodeChunk(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0)), /unknown format 9/);
  assert.throws(() => decodeChunk(blob.subarray(0, blob.length - 1)), /bytes for 100 entries/);
});

// The version-2 table and its writer's statements (history_writer.ts, retention.ts and
// history_queries.ts before the chunks).
const V2_TABLE = `CREATE TABLE IF NOT EXISTS readings (
  machine TEXT NOT NULL, channel TEXT NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL,
  mean REAL, zscore REAL, anomaly INTEGER NOT NULL DEFAULT 0, std REAL, threshold REAL,
  anomaly_ratio REAL, event INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (machine, channel, time)) WITHOUT ROWID; PRAGMA user_version = 2;`;

const nul = (x: number | null | undefined) =>
  typeof x === "number" && Number.isFinite(x) ? x : null;

/** The version-2 history: the table and the writer's upserts, applied as they come. */
class V2 {
  readonly db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  #rings: FlagRings;
  /** Streams whose ring has started since the store was opened. */
  #started = new Set<string>();
  #keep: number;
  readonly #listSize: number;

  constructor(path: string, keep: number, listSize: number) {
    this.db = new DatabaseSync(path);
    this.db.exec(V2_TABLE);
    this.#keep = keep;
    this.#listSize = listSize;
    this.#rings = new FlagRings(listSize, 4096);
    const p = (sql: string) => this.db.prepare(sql);
    this.#s = {
      result: p(`INSERT INTO readings (machine, channel, time, value, mean, std, zscore, threshold,
        anomaly, anomaly_ratio, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (machine, channel, time) DO UPDATE SET
         value = excluded.value, mean = excluded.mean, std = excluded.std,
         zscore = excluded.zscore, threshold = excluded.threshold, anomaly = excluded.anomaly,
         anomaly_ratio = excluded.anomaly_ratio, event = max(event, excluded.event)`),
      reading: p(`INSERT INTO readings (machine, channel, time, value) VALUES (?, ?, ?, ?)
        ON CONFLICT (machine, channel, time) DO UPDATE SET value = excluded.value`),
      row: p(`INSERT INTO readings (machine, channel, time, value, mean, zscore)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (machine, channel, time) DO UPDATE
        SET mean = excluded.mean, zscore = excluded.zscore`),
      anomaly: p(`INSERT INTO readings (machine, channel, time, value, event)
        VALUES (?, ?, ?, ?, 1) ON CONFLICT (machine, channel, time) DO UPDATE SET event = 1`),
      flag: p(`UPDATE readings SET event = 1 WHERE machine = ? AND channel = ? AND time = ?`),
      recentFlags: p(`SELECT anomaly FROM readings
        WHERE machine = ? AND channel = ? AND time < ? AND threshold IS NOT NULL
        ORDER BY time DESC LIMIT ?`),
      streams: p(`SELECT DISTINCT machine, channel FROM readings`),
      cut: p(`DELETE FROM readings WHERE machine = ?1 AND channel = ?2 AND time <
        (SELECT time FROM readings WHERE machine = ?1 AND channel = ?2
         ORDER BY time DESC LIMIT 1 OFFSET ?3)`),
      history: p(`SELECT time, value, mean, std, zscore, threshold, anomaly, anomaly_ratio, event
        FROM readings WHERE machine = ? AND channel = ? AND time >= ? AND time <= ?
        ORDER BY time DESC LIMIT ?`),
      summary: p(`SELECT count(*) AS count, avg(value) AS average, min(value) AS minimum,
        max(value) AS maximum, min(time) AS first, max(time) AS last
        FROM readings WHERE machine = ? AND channel = ? AND time >= ? AND time <= ?`),
      outliers: p(`SELECT time, value FROM readings WHERE machine = ?1 AND channel = ?2
        AND time >= ?3 AND time <= ?4 AND abs(value - ?6) > ?5 ORDER BY time`),
      machine: p(`SELECT 1 FROM readings WHERE machine = ? LIMIT 1`),
    };
  }

  /** Retention as every flush of version 2 applied it: the newest `keep` per stream. */
  cut(): void {
    for (
      const { machine, channel } of this.#s.streams!.all() as { machine: string; channel: string }[]
    ) {
      this.#s.cut!.run(machine, channel, this.#keep - 1);
    }
  }

  /**
   * A store reopened with retention `keep`: the last flush cut with the old one, and the rings
   * start again from the stored flags.
   */
  reopen(keep: number): void {
    this.cut();
    this.#keep = keep;
    this.#rings = new FlagRings(this.#listSize, 4096);
    this.#started.clear();
  }

  results(readings: readonly Reading[], events: Set<string>, v: Values): void {
    for (let i = 0; i < readings.length; i++) {
      if (v.first[i] === -1) continue;
      const r = readings[i]!;
      for (const channel in r.channels) {
        const key = `${r.machine}\0${channel}`;
        if (!this.#started.has(key)) {
          // As `#startRings`: the stored flags before the reading, after a flush (and its cut).
          this.#started.add(key);
          this.cut();
          const stored = this.#s.recentFlags!.all(r.machine, channel, r.timestamp, this.#listSize)
            .map((s) => (s.anomaly ? 1 : 0) as 0 | 1).reverse();
          this.#rings.start(r.machine, channel, stored);
        }
      }
    }
    for (let i = 0; i < readings.length; i++) {
      let e = v.first[i]!;
      if (e === -1) continue;
      const r = readings[i]!;
      for (const channel in r.channels) {
        const anomaly = v.flags[e]! & FLAG.ZSCORE ? 1 : 0;
        this.#s.result!.run(
          r.machine,
          channel,
          r.timestamp,
          r.channels[channel]!,
          nul(v.mean[e]),
          nul(v.std[e]),
          nul(v.zscore[e]),
          v.zThreshold,
          anomaly,
          this.#rings.ratio(r.machine, channel, anomaly),
          events.has(`${i}\0${channel}`) ? 1 : 0,
        );
        e++;
      }
    }
  }

  readings(readings: readonly Reading[]): void {
    for (const r of readings) {
      for (const c in r.channels) this.#s.reading!.run(r.machine, c, r.timestamp, r.channels[c]!);
    }
  }

  row(row: ProcessedRow): void {
    const time = Date.parse(row.timestamp);
    for (const c in row.channels) {
      const s = row.channels[c]!;
      const value = nul(s.current);
      if (value !== null) {
        this.#s.row!.run(row.machine, c, time, value, nul(s.moving_avg), nul(s.zscore));
      }
    }
  }

  anomaly(e: AnomalyEvent): void {
    const time = Date.parse(e.timestamp);
    const value = nul(e.value);
    if (value === null) this.#s.flag!.run(e.machine, e.channel!, time);
    else this.#s.anomaly!.run(e.machine, e.channel!, time, value);
  }

  history(machine: string, channel: string, from: number, to: number, last: number) {
    return (this.#s.history!.all(machine, channel, from, to, last) as Record<string, number>[])
      .reverse().map((r) => ({ ...r, anomaly: r.anomaly === 1, event: r.event === 1 }));
  }

  analytics(machine: string, channel: string, from: number, to: number, pct: number) {
    const s = this.#s.summary!.get(machine, channel, from, to) as {
      count: number;
      average: number | null;
    };
    const result = { ...s, outliers: [] as unknown[], outliers_total: 0 };
    const average = s.average;
    if (s.count === 0 || average === null || average === 0) return result;
    const allowed = Math.abs(average!) * pct / 100;
    const rows = this.#s.outliers!.all(machine, channel, from, to, allowed, average) as {
      time: number;
      value: number;
    }[];
    result.outliers_total = rows.length;
    result.outliers = rows.slice(0, 1000).map((r) => ({
      time: r.time,
      value: r.value,
      deviation_pct: (r.value - average!) / Math.abs(average!) * 100,
    }));
    return result;
  }

  hasMachine(machine: string): boolean {
    return this.#s.machine!.get(machine) !== undefined;
  }
}

type Values = ReadingValues;

const MACHINES = ["m1", "m2"];
const CHANNELS = ["a", "b"];
const iso = (t: number) => new Date(t).toISOString();
const T0 = Date.UTC(2026, 0, 1);

/** The store and the version-2 table answer the same, for every stream and some ranges. */
function compare(store: HistoryStore, v2: V2, random: () => number, next: number, what: string) {
  v2.cut();
  for (const m of [...MACHINES, "m9"]) {
    assert.equal(store.hasMachine(m), v2.hasMachine(m), `${what}: hasMachine ${m}`);
  }
  const MIN = Number.MIN_SAFE_INTEGER, MAX = Number.MAX_SAFE_INTEGER;
  const t = () => T0 + Math.floor(random() * (next + 2)) * 1000 + (random() < 0.2 ? 500 : 0);
  for (const machine of MACHINES) {
    for (const channel of CHANNELS) {
      const at = `${what}: ${machine}/${channel}`;
      assert.deepEqual(
        store.history({ machine, channel }),
        v2.history(machine, channel, MIN, MAX, -1),
        `${at}, all`,
      );
      const last = 1 + Math.floor(random() * 12);
      assert.deepEqual(
        store.history({ machine, channel, last }),
        v2.history(machine, channel, MIN, MAX, last),
        `${at}, last ${last}`,
      );
      const [from, to] = [t(), t()].sort((a, b) => a - b) as [number, number];
      assert.deepEqual(
        store.history({ machine, channel, from, to }),
        v2.history(machine, channel, from, to, -1),
        `${at}, ${from}…${to}`,
      );
      assert.deepEqual(
        store.history({ machine, channel, to, last }),
        v2.history(machine, channel, MIN, to, last),
        `${at}, last ${last} to ${to}`,
      );
      for (const [f, tt] of [[MIN, MAX], [from, to]] as const) {
        const pct = [0, 5, 20, 60][Math.floor(random() * 4)]!;
        assert.deepEqual(
          store.analytics({ machine, channel, from: f, to: tt, deviationPct: pct }),
          v2.analytics(machine, channel, f, tt, pct),
          `${at}, analytics ${f}…${tt} at ${pct} %`,
        );
      }
    }
  }
}

/** Random writes of all four kinds through the store and the version-2 writer alike. */
async function differential(seed: number, keep: number, maxPending: number, infinite = false) {
  // In memory where there is a tmpfs: a flush syncs the file, and the test flushes often.
  const dir = await Deno.makeTempDir({
    prefix: "vigil_history_chunks_",
    dir: await Deno.stat("/dev/shm").then(
      (s) => s.isDirectory ? "/dev/shm" : undefined,
      () => undefined,
    ),
  });
  // Retention checks what it keeps of each stream against a count of it at every flush.
  retentionCheck.check = true;
  const random = prng(seed);
  const listSize = 4;
  const v2 = new V2(join(dir, "v2.sqlite"), keep, listSize);
  const path = join(dir, "history.sqlite");
  const open = () =>
    new HistoryStore({ path, retention: keep, anomalyListSize: listSize, maxPending });
  // Reopened with a larger retention, then the first again: entries older than a stream's
  // floor are kept again, and a smaller retention cuts what the file holds.
  const keeps = [keep, keep + 4, keep];
  let store = open();
  try {
    let next = 1;
    // Mostly in time order (the cut from the oldest end); sometimes repeated or older.
    const time = () => T0 + (random() < 0.6 ? next++ : Math.floor(random() * next)) * 1000;
    const value = () => {
      const r = random();
      return r < 0.03
        ? -0
        : infinite && r < 0.04
        ? Infinity
        : infinite && r < 0.05
        ? -Infinity
        : r < 0.3
        ? Math.round(random() * 200 - 50) / 4
        // Doubles of all 53 bits (prng gives 32): summed naively rather than as SQLite sums,
        // their average would differ.
        : (random() * 200 - 50) / 3;
    };
    const maybe = () => (random() < 0.2 ? NaN : value());
    const machine = () => MACHINES[Math.floor(random() * MACHINES.length)]!;
    const channels = (): Record<string, number> => {
      const r = random();
      return r < 0.6 ? { a: value(), b: value() } : r < 0.8 ? { a: value() } : { b: value() };
    };
    const reading = (): Reading => ({
      timestamp: time(),
      machine: machine(),
      status: null,
      channels: channels(),
    });
    for (let step = 0; step < 400; step++) {
      const r = random();
      if (r < 0.45) {
        const batch = Array.from({ length: 1 + Math.floor(random() * 4) }, reading);
        let n = 0;
        const first = Int32Array.from(batch, (b) => {
          if (random() < 0.1) return -1;
          const f = n;
          n += Object.keys(b.channels).length;
          return f;
        });
        const values: Values = {
          count: n,
          first,
          mean: Float64Array.from({ length: n }, maybe),
          std: Float64Array.from({ length: n }, maybe),
          zscore: Float64Array.from({ length: n }, maybe),
          flags: Uint32Array.from({ length: n }, () => (random() < 0.4 ? FLAG.ZSCORE : 0)),
          zThreshold: random() < 0.1 ? NaN : 3 + Math.floor(random() * 2),
        };
        const events: { index: number; event: AnomalyEvent }[] = [];
        const keys = new Set<string>();
        batch.forEach((b, index) => {
          for (const channel in b.channels) {
            if (random() < 0.3) {
              keys.add(`${index}\0${channel}`);
              events.push({
                index,
                event: event(b.machine, channel, b.timestamp, b.channels[channel]!),
              });
            }
          }
        });
        v2.results(batch, keys, values);
        store.results(batch, { rows: new RowTable(), events, rejected: [], values });
      } else if (r < 0.65) {
        const batch = Array.from({ length: 1 + Math.floor(random() * 3) }, reading);
        v2.readings(batch);
        store.readings(batch);
      } else if (r < 0.8) {
        const channel = CHANNELS[Math.floor(random() * 2)]!;
        const row: ProcessedRow = {
          timestamp: iso(time()),
          machine: machine(),
          channels: {
            [channel]: { current: maybe(), moving_avg: maybe(), trend: "stable", zscore: maybe() },
          },
          status_current: null,
          status_mode: null,
          status_changes: 0,
          health_score: 100,
          alerts: [],
        };
        v2.row(row);
        store.row(row);
      } else {
        const e = event(
          machine(),
          CHANNELS[Math.floor(random() * 2)]!,
          time(),
          random() < 0.4 ? null : maybe(),
        );
        v2.anomaly(e);
        store.anomaly(e);
      }
      if (step % 25 === 24) compare(store, v2, random, next, `seed ${seed}, step ${step}`);
      if (step % 100 === 99) {
        store.close();
        keep = keeps[(step + 1) / 100 % keeps.length]!;
        store = open();
        v2.reopen(keep);
      }
    }
    store.close();
    store = open();
    compare(store, v2, random, next, `seed ${seed}, reopened`);
    store.close();
    // The version-2 file, converted by opening it, answers the same.
    v2.db.close();
    Deno.copyFileSync(join(dir, "v2.sqlite"), join(dir, "converted.sqlite"));
    store = new HistoryStore({ path: join(dir, "converted.sqlite"), retention: keep });
    const again = new V2(join(dir, "v2.sqlite"), keep, listSize);
    compare(store, again, random, next, `seed ${seed}, converted`);
    again.db.close();
  } finally {
    retentionCheck.check = false;
    store.close();
    try {
      v2.db.close();
    } catch {
      // closed above
    }
    await Deno.remove(dir, { recursive: true });
  }
}

function event(machine: string, channel: string, time: number, value: number | null): AnomalyEvent {
  return {
    timestamp: iso(time),
    machine,
    type: `ZSCORE_${channel.toUpperCase()}`,
    severity: "WARNING",
    channel,
    value,
    threshold: 3,
    description: "test",
  };
}

Deno.test("chunks against the version-2 table: random writes of every kind, kept in full", async () => {
  for (const seed of [1, 2, 3]) await differential(seed, 100_000, 50_000);
});

Deno.test("chunks against the version-2 table: random writes of every kind, at a small retention", async () => {
  // Flushes of a few entries (maxPending 5) and of many: both cut paths of retention.
  for (const seed of [4, 5, 6]) await differential(seed, 6, 5);
  for (const seed of [7, 8]) await differential(seed, 9, 50_000);
  // Infinite values: SQLite's average is then ±Infinity, or null (their sum is NaN).
  await differential(9, 100_000, 50_000, true);
  await differential(10, 9, 5, true);
});
