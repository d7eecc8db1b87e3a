/**
 * The history table's layout against the live engine's flush workload, in SQLite alone (no
 * engine): 1,000 machines × 2 channels, 15,000 readings per flush (a live engine's second),
 * sorted 256-row upserts as `chunked_insert.ts` writes them, retention from the oldest end, in one
 * transaction per flush (rollback journal, synchronous FULL). Layouts: A the current table; B a
 * rowid table with a UNIQUE (machine, channel, time) index; C keyed by time first with that index;
 * D1 A with a 16 MB cache; D2 A with 16 KiB pages; E1 A with plain INSERTs; E2 integer stream ids
 * in a side table. Phases: from an empty file, on a file pre-filled to 300 rows per stream, and at
 * a retention limit of 300. Prints CPU and wall µs per reading, file size and two query times.
 *
 *   deno run -A bench/history_layout_probe.ts [ROUNDS=3] [EMPTY_FLUSHES=60] [PREFILLED_FLUSHES=30] [LAYOUTS=A,B,…]
 * @module
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { copyFileSync, existsSync, rmSync, statSync } from "node:fs";
import { ChunkedInsert } from "../engine/sinks/history/chunked_insert.ts";

const ROUNDS = Number(Deno.args[0] ?? 3);
const EMPTY_FLUSHES = Number(Deno.args[1] ?? 60);
const PRE_FLUSHES = Number(Deno.args[2] ?? 30);
const ONLY = Deno.args[3]?.split(",");
const MACHINES = 1000, CHANNELS = ["speed", "temperature"]; // simulator names: m1..m1000
const PER_FLUSH = 15_000; // readings (each 2 channels) per flush
const PER_STREAM = PER_FLUSH / MACHINES; // 15 rows per stream per flush
const STEP = 2000; // ms between readings of a stream
const T0 = 1_780_000_000_000;
const PREFILL = 300; // rows per stream
const RETAIN_SMALL = 300; // retention for the "at the limit" phase

// streams sorted by (machine, channel) as TEXT, i.e. primary-key order
const STREAMS: [string, string][] = [];
for (let i = 1; i <= MACHINES; i++) for (const c of CHANNELS) STREAMS.push([`m${i}`, c]);
STREAMS.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));

// The columns of schema version 2's `readings` rows, as its writer bound them (the probe that
// led to schema version 3's chunks measures that table).
const COLS: readonly string[] = [
  "machine",
  "channel",
  "time",
  "value",
  "mean",
  "std",
  "zscore",
  "threshold",
  "anomaly",
  "anomaly_ratio",
  "event",
];
const UPSERT_SET = `value = excluded.value, mean = excluded.mean, std = excluded.std,
  zscore = excluded.zscore, threshold = excluded.threshold, anomaly = excluded.anomaly,
  anomaly_ratio = excluded.anomaly_ratio, event = max(event, excluded.event)`;
const REST = `value REAL NOT NULL, mean REAL, zscore REAL, anomaly INTEGER NOT NULL DEFAULT 0,
  std REAL, threshold REAL, anomaly_ratio REAL, event INTEGER NOT NULL DEFAULT 0`;

interface Layout {
  name: string;
  pragmas?: string; // before creating the table
  ddl: string;
  ids?: boolean; // integer stream ids (E2)
  tail: string; // ON CONFLICT clause or ""
}
const TEXTKEY = `machine TEXT NOT NULL, channel TEXT NOT NULL, time INTEGER NOT NULL, ${REST}`;
const UPS = `ON CONFLICT (machine, channel, time) DO UPDATE SET ${UPSERT_SET}`;
const LAYOUTS: Layout[] = [
  {
    name: "A",
    ddl: `CREATE TABLE readings (${TEXTKEY}, PRIMARY KEY (machine, channel, time)) WITHOUT ROWID`,
    tail: UPS,
  },
  {
    name: "B",
    ddl:
      `CREATE TABLE readings (${TEXTKEY}); CREATE UNIQUE INDEX readings_key ON readings (machine, channel, time)`,
    tail: UPS,
  },
  {
    name: "C",
    ddl:
      `CREATE TABLE readings (${TEXTKEY}, PRIMARY KEY (time, machine, channel)) WITHOUT ROWID; CREATE UNIQUE INDEX readings_stream ON readings (machine, channel, time)`,
    tail: UPS,
  },
  {
    name: "D1",
    pragmas: "PRAGMA cache_size = -16000",
    ddl: `CREATE TABLE readings (${TEXTKEY}, PRIMARY KEY (machine, channel, time)) WITHOUT ROWID`,
    tail: UPS,
  },
  {
    name: "D2",
    pragmas: "PRAGMA page_size = 16384",
    ddl: `CREATE TABLE readings (${TEXTKEY}, PRIMARY KEY (machine, channel, time)) WITHOUT ROWID`,
    tail: UPS,
  },
  {
    name: "E1",
    ddl: `CREATE TABLE readings (${TEXTKEY}, PRIMARY KEY (machine, channel, time)) WITHOUT ROWID`,
    tail: "",
  },
  {
    name: "E2",
    ids: true,
    ddl:
      `CREATE TABLE streams (id INTEGER PRIMARY KEY, machine TEXT NOT NULL, channel TEXT NOT NULL, UNIQUE (machine, channel));
          CREATE TABLE readings (stream INTEGER NOT NULL, time INTEGER NOT NULL, ${REST}, PRIMARY KEY (stream, time)) WITHOUT ROWID`,
    tail: `ON CONFLICT (stream, time) DO UPDATE SET ${UPSERT_SET}`,
  },
].filter((l) => !ONLY || ONLY.includes(l.name));

class Store {
  db: DatabaseSync;
  insert: ChunkedInsert;
  ids = new Map<string, number>();
  addStream?: StatementSync;
  del: StatementSync;
  range: StatementSync;
  latest: StatementSync;
  held = new Map<number, number>(); // stream index -> rows (exact, as retention.ts keeps it)
  constructor(public L: Layout, public path: string, fresh: boolean) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA synchronous = FULL"); // default, stated
    if (L.pragmas) this.db.exec(L.pragmas);
    if (fresh) this.db.exec(L.ddl);
    // The engine's own multi-row statements (256, 16, 1 rows), on each layout's columns.
    this.insert = new ChunkedInsert(
      this.db,
      "readings",
      L.ids ? ["stream", ...COLS.slice(2)] : COLS,
      L.tail,
    );
    if (L.ids) {
      this.addStream = this.db.prepare(
        "INSERT INTO streams (machine, channel) VALUES (?, ?) RETURNING id",
      );
      for (
        const r of this.db.prepare("SELECT id, machine, channel FROM streams").all() as {
          id: number;
          machine: string;
          channel: string;
        }[]
      ) {
        this.ids.set(`${r.machine}\0${r.channel}`, r.id);
      }
      this.del = this.db.prepare(`DELETE FROM readings WHERE stream = ?1 AND time <=
        (SELECT time FROM readings WHERE stream = ?1 ORDER BY time ASC LIMIT 1 OFFSET ?2)`);
      this.range = this.db.prepare(
        `SELECT r.time, r.value, r.mean, r.zscore, r.anomaly FROM readings r
        WHERE r.stream = (SELECT id FROM streams WHERE machine = ? AND channel = ?) AND r.time BETWEEN ? AND ? ORDER BY r.time`,
      );
      this.latest = this.db.prepare(
        `SELECT r.time, r.value, r.mean, r.zscore, r.anomaly FROM readings r
        WHERE r.stream = (SELECT id FROM streams WHERE machine = ? AND channel = ?) ORDER BY r.time DESC LIMIT ?`,
      );
    } else {
      this.del = this.db.prepare(
        `DELETE FROM readings WHERE machine = ?1 AND channel = ?2 AND time <=
        (SELECT time FROM readings WHERE machine = ?1 AND channel = ?2 ORDER BY time ASC LIMIT 1 OFFSET ?3)`,
      );
      this.range = this.db.prepare(`SELECT time, value, mean, zscore, anomaly FROM readings
        WHERE machine = ? AND channel = ? AND time BETWEEN ? AND ? ORDER BY time`);
      this.latest = this.db.prepare(`SELECT time, value, mean, zscore, anomaly FROM readings
        WHERE machine = ? AND channel = ? ORDER BY time DESC LIMIT ?`);
    }
  }
  streamId(m: string, c: string): number {
    const k = `${m}\0${c}`;
    let id = this.ids.get(k);
    if (id === undefined) {
      id = (this.addStream!.get(m, c) as { id: number }).id;
      this.ids.set(k, id);
    }
    return id;
  }
  /** One flush: `perStream` rows per stream starting at sequence number `seq0`. */
  flush(seq0: number, perStream: number, keep: number) {
    const rows = STREAMS.length * perStream;
    const ids = this.L.ids;
    // resolve ids once per stream per flush (like a per-flush map lookup)

    const fill = (p: SQLInputValue[], at: number, r: number) => {
      const s = (r / perStream) | 0, k = r - s * perStream;
      const st = STREAMS[s]!;
      const seq = seq0 + k;
      let j = at;
      if (ids) p[j++] = sid[s]!;
      else {
        p[j++] = st[0];
        p[j++] = st[1];
      }
      const v = 50 + ((seq * 7919 + s * 104729) % 1000) / 37;
      p[j++] = T0 + seq * STEP;
      p[j++] = v;
      p[j++] = v - 0.3;
      p[j++] = 1.7;
      p[j++] = 0.18;
      p[j++] = 3;
      p[j++] = 0;
      p[j++] = 0.01;
      p[j++] = 0;
    };
    this.db.exec("BEGIN");
    // inside the transaction: a new stream's id row commits with the flush
    const sid: number[] = ids ? STREAMS.map(([m, c]) => this.streamId(m, c)) : [];
    this.insert.run(rows, fill);
    // retention as retention.ts does it with exact counts: delete oldest beyond `keep`
    for (let s = 0; s < STREAMS.length; s++) {
      const h = (this.held.get(s) ?? 0) + perStream;
      if (h > keep) {
        if (ids) this.del.run(sid[s]!, h - keep - 1);
        else this.del.run(STREAMS[s]![0], STREAMS[s]![1], h - keep - 1);
        this.held.set(s, keep);
      } else this.held.set(s, h);
    }
    this.db.exec("COMMIT");
  }
  close() {
    this.db.close();
  }
}

function cpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}
function median(a: number[]) {
  const b = [...a].sort((x, y) => x - y);
  return b[b.length >> 1]!;
}
function rm(path: string) {
  for (const p of [path, path + "-journal"]) if (existsSync(p)) rmSync(p);
}

function queries(st: Store, newestSeq: number) {
  const rng: number[] = [], lat: number[] = [];
  let rrows = 0;
  const tEnd = T0 + newestSeq * STEP;
  for (let i = 0; i < 60; i++) {
    const [m, c] = STREAMS[(i * 337) % STREAMS.length]!;
    let t = performance.now();
    const a = st.range.all(m, c, tEnd - 3_600_000, tEnd);
    rng.push((performance.now() - t) * 1000);
    rrows = a.length;
    t = performance.now();
    st.latest.all(m, c, 100);
    lat.push((performance.now() - t) * 1000);
  }
  return { range: median(rng.slice(10)), rrows, latest: median(lat.slice(10)) };
}

type Res = {
  cpu: number;
  wall: number;
  size: number;
  range: number;
  rrows: number;
  latest: number;
};
const results = new Map<string, Res[]>();
function record(k: string, r: Res) {
  (results.get(k) ?? results.set(k, []).get(k)!).push(r);
}

function timed(st: Store, seq0: number, flushes: number, keep: number) {
  const c0 = cpuUs(), w0 = performance.now();
  for (let f = 0; f < flushes; f++) st.flush(seq0 + f * PER_STREAM, PER_STREAM, keep);
  const cpu = cpuUs() - c0, wall = (performance.now() - w0) * 1000;
  const readings = flushes * PER_FLUSH;
  return { cpu: cpu / readings, wall: wall / readings };
}

for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? LAYOUTS : [...LAYOUTS].reverse();
  for (const L of order) {
    // phase 1: from empty
    const p1 = `/tmp/histlayout-${L.name}-empty.db`;
    rm(p1);
    let st = new Store(L, p1, true);
    const e = timed(st, 0, EMPTY_FLUSHES, 100_000);
    record(`${L.name} empty`, {
      ...e,
      size: statSync(p1).size,
      ...queries(st, EMPTY_FLUSHES * PER_STREAM - 1),
    });
    st.close();
    rm(p1);
    // prefill (untimed, in big transactions of the same statements)
    const pf = `/tmp/histlayout-${L.name}-pre.db`;
    rm(pf);
    st = new Store(L, pf, true);
    for (let s = 0; s < PREFILL; s += 30) st.flush(s, 30, 100_000);
    st.close();
    // phase 2: pre-filled to 300 rows/stream, retention 100,000 (no deletes)
    const p2 = `/tmp/histlayout-${L.name}-p2.db`;
    rm(p2);
    copyFileSync(pf, p2);
    st = new Store(L, p2, false);
    for (let s = 0; s < STREAMS.length; s++) st.held.set(s, PREFILL);
    const q = timed(st, PREFILL, PRE_FLUSHES, 100_000);
    record(`${L.name} prefilled`, {
      ...q,
      size: statSync(p2).size,
      ...queries(st, PREFILL + PRE_FLUSHES * PER_STREAM - 1),
    });
    st.close();
    rm(p2);
    // phase 3: same file, retention 300: at the limit, each flush deletes 15 rows per stream
    const p3 = `/tmp/histlayout-${L.name}-p3.db`;
    rm(p3);
    copyFileSync(pf, p3);
    rm(pf);
    st = new Store(L, p3, false);
    for (let s = 0; s < STREAMS.length; s++) st.held.set(s, PREFILL);
    const r = timed(st, PREFILL, PRE_FLUSHES, RETAIN_SMALL);
    record(`${L.name} at-limit`, {
      ...r,
      size: statSync(p3).size,
      ...queries(st, PREFILL + PRE_FLUSHES * PER_STREAM - 1),
    });
    st.close();
    rm(p3);
    console.error(
      `round ${round} ${L.name}: empty ${e.cpu.toFixed(1)} prefilled ${q.cpu.toFixed(1)} at-limit ${
        r.cpu.toFixed(1)
      } us cpu/reading`,
    );
  }
}

console.log(
  `rounds ${ROUNDS}, empty ${EMPTY_FLUSHES} flushes, prefilled(${PREFILL}/stream) ${PRE_FLUSHES} flushes, at-limit retention ${RETAIN_SMALL}, ${PER_FLUSH} readings x 2 channels per flush`,
);
console.log(
  "| layout phase | CPU µs/reading (median, min–max) | wall µs/reading | file MiB | 1h range µs (rows) | latest-100 µs |",
);
console.log("|---|---|---|---|---|---|");
for (const [k, rs] of results) {
  const cpu = rs.map((r) => r.cpu), wall = rs.map((r) => r.wall);
  console.log(
    `| ${k} | ${median(cpu).toFixed(1)} (${Math.min(...cpu).toFixed(1)}–${
      Math.max(...cpu).toFixed(1)
    }) | ${median(wall).toFixed(1)} | ${(median(rs.map((r) => r.size)) / 2 ** 20).toFixed(0)} | ${
      median(rs.map((r) => r.range)).toFixed(0)
    } (${rs[0]!.rrows}) | ${median(rs.map((r) => r.latest)).toFixed(0)} |`,
  );
}
