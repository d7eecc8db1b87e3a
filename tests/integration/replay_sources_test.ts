/**
 * Replay sources: Parquet input (row groups, time column types, restarts), CSV with `,` and
 * `;`, and `--rate` (pacing without drift, in order, stoppable). Real processes and real files.
 *
 * Past ~400 lines: the whole suite of one component (replay sources), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
// Test-only: writes the Parquet inputs (the engine reads Parquet with hyparquet).
import { parquetWriteBuffer } from "npm:hyparquet-writer@0.17.0";
import {
  type Batch,
  type Clock,
  FILES,
  formatReading,
  ParquetSource,
  RateLimitStream,
  type Reading,
  RecordedInput,
} from "../../engine/mod.ts";
import { generateReadings } from "../../simulator/mod.ts";
import { runVigil, startVigil, vigilCommand } from "../helpers.ts";

const T0 = Date.UTC(2026, 0, 1);

/** `replay`'s closing line. */
interface Summary {
  readings: number;
  rows: number;
  anomalies: number;
  errors: number;
  seconds: number;
}

/** `replay` as a process; returns its summary line, or fails with its stderr. */
async function replay(input: string, dataDir: string, tmp: string, more: string[] = []) {
  const out = await runVigil(["replay", input, "--data-dir", dataDir, ...more], {
    perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
  });
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!) as Summary;
}

/** Simulated readings with faults (so that there are anomalies), in event-time order. */
function recording(count: number, machines: number, intervalMs: number): Reading[] {
  return [
    ...generateReadings({ machines, seed: 23, count, start: T0, intervalMs, faultRate: 0.05 }),
  ];
}

const COLUMNS = ["timestamp", "machine", "status", "temperature", "speed", "injected"] as const;

/** The readings as a Parquet file (TIMESTAMP ms time column) in row groups of `groupRows`;
 * `null` entries are rows without a timestamp (parser errors). */
async function writeParquet(path: string, rows: (Reading | null)[], groupRows: number) {
  const col = <T>(f: (r: Reading) => T) => rows.map((r) => r === null ? null : f(r));
  const buf = parquetWriteBuffer({
    rowGroupSize: groupRows,
    columnData: [
      { name: "timestamp", type: "TIMESTAMP", data: col((r) => new Date(r.timestamp)) },
      { name: "machine", type: "STRING", data: rows.map((r) => r?.machine ?? "m1") },
      { name: "status", type: "STRING", data: rows.map((r) => r?.status ?? "RUNNING") },
      { name: "temperature", type: "DOUBLE", data: rows.map((r) => r?.channels.temperature ?? 20) },
      { name: "speed", type: "DOUBLE", data: col((r) => r.channels.speed ?? null) },
      { name: "injected", type: "STRING", data: col((r) => r.injected ?? null) },
    ],
  });
  await Deno.writeFile(path, new Uint8Array(buf));
}

/** The same rows as CSV with separator `sep` (an empty time cell for a `null` row). */
async function writeCsv(path: string, rows: (Reading | null)[], sep: string) {
  const lines = [COLUMNS.join(sep)];
  for (const r of rows) {
    lines.push(
      r === null ? ["", "m1", "RUNNING", "20", "", ""].join(sep) : [
        new Date(r.timestamp).toISOString(),
        r.machine,
        r.status ?? "",
        String(r.channels.temperature ?? ""),
        String(r.channels.speed ?? ""),
        r.injected ?? "",
      ].join(sep),
    );
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
}

/** The same rows as JSONL (a `null` row: an object without a timestamp). */
async function writeJsonl(path: string, rows: (Reading | null)[]) {
  const lines = rows.map((r) =>
    r === null
      ? JSON.stringify({ machine: "m1", status: "RUNNING", temperature: 20 })
      : formatReading(r)
  );
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
}

const COMPARED: string[] = [FILES.analysis, FILES.anomalies, FILES.stream];

async function assertSameFiles(a: string, b: string, files = COMPARED) {
  for (const f of files) {
    const [x, y] = await Promise.all([Deno.readFile(join(a, f)), Deno.readFile(join(b, f))]);
    assert.ok(x.length > 0, `${a}/${f} is empty`);
    assert.ok(
      x.length === y.length && x.every((v, i) => v === y[i]),
      `${f} differs between ${a} and ${b}`,
    );
  }
}

Deno.test("Parquet, JSONL and CSV with , and ; replay to byte-identical outputs", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const rows: (Reading | null)[] = recording(1500, 3, 1000);
    // A reading without a speed (a null cell) and a row without a timestamp (a parser error).
    const r7 = rows[7]!;
    rows[7] = { ...r7, channels: { temperature: r7.channels.temperature! } };
    rows.splice(100, 0, null);
    const inputs = {
      parquet: join(tmp, "in.parquet"),
      jsonl: join(tmp, "in.jsonl"),
      comma: join(tmp, "comma.csv"),
      semicolon: join(tmp, "semicolon.csv"),
    };
    // Several row groups, one boundary right after the rejected row.
    await writeParquet(inputs.parquet, rows, 101);
    await writeJsonl(inputs.jsonl, rows);
    await writeCsv(inputs.comma, rows, ",");
    await writeCsv(inputs.semicolon, rows, ";");
    const summaries: Record<string, Summary> = {};
    for (const [name, path] of Object.entries(inputs)) {
      summaries[name] = await replay(path, join(tmp, name), tmp, ["--processing-interval", "5"]);
    }
    for (const s of Object.values(summaries)) {
      assert.equal(s.readings, 1500);
      assert.equal(s.errors, 1);
      assert.equal(s.rows, summaries.jsonl!.rows);
      assert.equal(s.anomalies, summaries.jsonl!.anomalies);
    }
    assert.ok(summaries.jsonl!.anomalies > 0, "the recording raised no anomaly");
    for (const name of ["parquet", "comma", "semicolon"]) {
      await assertSameFiles(join(tmp, "jsonl"), join(tmp, name));
    }
    // The reading without a speed stayed without one.
    const stream = await Deno.readTextFile(join(tmp, "parquet", FILES.stream));
    assert.deepEqual(Object.keys(JSON.parse(stream.split("\n")[7]!)), [
      "timestamp",
      "machine",
      "status",
      "temperature",
    ]);
    // The rejected Parquet row is logged as JSON, with the event time of the reading before.
    const err = JSON.parse(await Deno.readTextFile(join(tmp, "parquet", FILES.errors)));
    assert.equal(err.error, "missing timestamp");
    assert.equal(err.timestamp, new Date(rows[99]!.timestamp).toISOString());
    assert.deepEqual(JSON.parse(err.line), {
      timestamp: null,
      machine: "m1",
      status: "RUNNING",
      temperature: 20,
      speed: null,
      injected: null,
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Reads every batch of a stream. */
async function batchesOf(stream: ReadableStream<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of stream) out.push(b);
  return out;
}

Deno.test("Parquet time columns: TIMESTAMP ms/us/ns, DATE, epoch ms, strings", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const t = [T0 + 1, T0 + 2500, T0 + 86_400_000];
    const root = (n: number) => ({ name: "root", num_children: n });
    const write = async (name: string, buf: ArrayBuffer) => {
      const path = join(tmp, `${name}.parquet`);
      await Deno.writeFile(path, new Uint8Array(buf));
      const input = await RecordedInput.open(path, null);
      assert.equal(input.format, "parquet");
      return (await batchesOf(input.stream())).flatMap((b) => b.readings);
    };
    const value = { name: "v", data: [1.5, 2.5, 3.5] };
    const valueEl = { name: "v", type: "DOUBLE" as const, repetition_type: "REQUIRED" as const };
    const units = [
      ["MILLIS", 1n],
      ["MICROS", 1000n],
      ["NANOS", 1_000_000n],
    ] as const;
    for (const [unit, per] of units) {
      const readings = await write(
        unit,
        parquetWriteBuffer({
          columnData: [{ name: "time", data: t.map((x) => BigInt(x) * per) }, value],
          schema: [root(2), {
            name: "time",
            type: "INT64",
            repetition_type: "REQUIRED",
            logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit },
          }, valueEl],
        }),
      );
      assert.deepEqual(readings.map((r) => r.timestamp), t, unit);
      assert.deepEqual(readings.map((r) => r.channels), [{ v: 1.5 }, { v: 2.5 }, { v: 3.5 }]);
    }
    // TIMESTAMP_MICROS as a converted type (older writers), named `datetime`, not first.
    const micros = await write(
      "converted",
      parquetWriteBuffer({
        columnData: [value, { name: "datetime", data: t.map((x) => BigInt(x) * 1000n) }],
        schema: [root(2), valueEl, {
          name: "datetime",
          type: "INT64",
          repetition_type: "REQUIRED",
          converted_type: "TIMESTAMP_MICROS",
        }],
      }),
    );
    assert.deepEqual(micros.map((r) => r.timestamp), t);
    // DATE: days since the epoch, midnight UTC.
    const days = await write(
      "date",
      parquetWriteBuffer({
        columnData: [{ name: "day", data: [20454, 20455] }, {
          name: "v",
          data: [1, 2],
        }],
        schema: [root(2), {
          name: "day",
          type: "INT32",
          repetition_type: "REQUIRED",
          converted_type: "DATE",
        }, valueEl],
      }),
    );
    assert.deepEqual(days.map((r) => r.timestamp), [20454 * 86_400_000, 20455 * 86_400_000]);
    // Strings (ISO, zoned or not: UTC), epoch ms as INT64, integer channels, a string column
    // that is not a channel, machine and status by name in any case.
    const mixed = await write(
      "mixed",
      parquetWriteBuffer({
        columnData: [
          {
            name: "Timestamp",
            type: "STRING",
            data: ["2026-01-01T00:00:01Z", "2026-01-01 00:00:02"],
          },
          { name: "ms", type: "INT64", data: [5n, 6n] },
          { name: "count", type: "INT32", data: [7, 8] },
          { name: "note", type: "STRING", data: ["a", "b"] },
          { name: "Machine", type: "STRING", data: ["pump-1", "pump-2"] },
          { name: "STATUS", type: "STRING", data: ["RUNNING", null] },
        ],
      }),
    );
    assert.deepEqual(mixed, [
      {
        timestamp: T0 + 1000,
        machine: "pump-1",
        status: "RUNNING",
        channels: { ms: 5, count: 7 },
      },
      { timestamp: T0 + 2000, machine: "pump-2", status: null, channels: { ms: 6, count: 8 } },
    ]);
    // Epoch ms as the first column; a non-finite value and a missing time are parser errors.
    const path = join(tmp, "epoch.parquet");
    await Deno.writeFile(
      path,
      new Uint8Array(parquetWriteBuffer({
        columnData: [
          { name: "t", type: "INT64", data: [BigInt(T0), null, BigInt(T0 + 2)] },
          { name: "x", type: "DOUBLE", data: [1, 2, Infinity] },
        ],
      })),
    );
    const batches = await batchesOf((await RecordedInput.open(path, null)).stream());
    assert.deepEqual(batches.flatMap((b) => b.readings), [
      { timestamp: T0, machine: "m1", status: null, channels: { x: 1 } },
    ]);
    assert.deepEqual(batches.flatMap((b) => b.errors.map((e) => [e.error, e.time])), [
      ["missing timestamp", T0],
      ["x is not finite", T0],
    ]);
    assert.equal(batches.reduce((n, b) => n + b.lines, 0), 3);
    // A measurement as the first column is not a time (read as epoch ms: 1970, channel lost).
    const measured = join(tmp, "measured.parquet");
    await Deno.writeFile(
      measured,
      new Uint8Array(parquetWriteBuffer({
        columnData: [
          { name: "pressure", type: "DOUBLE", data: [3.2, 3.3] },
          { name: "flow", type: "DOUBLE", data: [10, 11] },
        ],
      })),
    );
    const refused = await batchesOf((await RecordedInput.open(measured, null)).stream());
    assert.deepEqual(refused.flatMap((b) => b.readings), []);
    assert.deepEqual(refused.flatMap((b) => b.errors.map((e) => e.error)), [
      'no time column: name it "timestamp" or "datetime" (the first column, "pressure", ' +
      'holds "3.2", not an ISO 8601 time or epoch ms from 2000-01-01)',
      'no time column: name it "timestamp" or "datetime" (the first column, "pressure", ' +
      'holds "3.3", not an ISO 8601 time or epoch ms from 2000-01-01)',
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("Parquet row groups: rows are lines, history is suppressed, bad files exit 2", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const path = join(tmp, "groups.parquet");
    await writeParquet(path, recording(1000, 2, 1000), 64);
    const opened = await ParquetSource.open(path);
    assert.equal(opened.rows, 1000);
    // Small batches: each is cut where the history ends and never spans more than 100 rows.
    const batches = await batchesOf(
      opened.withOptions({ suppressLines: 250, batchSize: 100 }).readable,
    );
    let line = 0;
    for (const b of batches) {
      assert.ok(b.lines <= 100 && b.lines === b.readings.length);
      assert.equal(b.suppress, line < 250, `batch at row ${line}`);
      line += b.lines;
    }
    assert.equal(line, 1000);
    assert.ok(batches.some((b) => b.lines < 100 && !b.suppress), "no cut at the history's end");
    // A row group over the memory bound is refused when opened.
    await assert.rejects(
      () => ParquetSource.open(path, { maxRowGroupBytes: 100 }),
      /row group 0 holds \d+ bytes uncompressed, over the limit of 100/,
    );

    const notParquet = join(tmp, "broken.parquet");
    await Deno.writeTextFile(notParquet, "timestamp,x\n2026-01-01T00:00:00Z,1\n");
    const out = await runVigil(["replay", notParquet, "--data-dir", join(tmp, "d")], {
      perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
    });
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^vigil: replay: .*broken\.parquet is not a readable Parquet file/);
    // Refused before anything was written.
    await assert.rejects(() => Deno.stat(join(tmp, "d", FILES.checkpoint)));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a paced Parquet replay killed with -9 resumes exactly", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // 600 rows, 100 ms apart (60 s), in row groups of 50; at --rate 30 about 2 s of replay.
    const input = join(tmp, "in.parquet");
    const rows = recording(600, 1, 100);
    await writeParquet(input, rows, 50);
    const flags = ["--processing-interval", "1"];
    const ref = await replay(input, join(tmp, "ref"), tmp, flags);
    assert.ok(ref.anomalies > 0 && ref.rows > 0);

    const dir = join(tmp, "killed");
    const checkpointLines = () =>
      Deno.readTextFile(join(dir, FILES.checkpoint)).then(
        (t) => JSON.parse(t).lines as number,
        () => 0,
      );
    const killedAt: number[] = [];
    for (const target of [120, 330]) {
      const child = (await vigilCommand(
        ["replay", input, "--data-dir", dir, "--rate", "30", ...flags],
        { perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`] },
      )).spawn();
      const deadline = Date.now() + 30_000;
      while ((await checkpointLines()) < target && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
      const status = await child.status;
      await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
      assert.equal(status.signal, "SIGKILL", "the paced replay ended before it was killed");
      killedAt.push(await checkpointLines());
    }
    // Each kill came in the middle of the file (and of a row group, most likely).
    assert.ok(killedAt[0]! >= 120 && killedAt[0]! < 600, `killed at ${killedAt}`);
    assert.ok(killedAt[1]! > killedAt[0]! && killedAt[1]! < 600, `killed at ${killedAt}`);
    const last = await replay(input, dir, tmp, flags);
    assert.equal(last.readings, 600);
    await assertSameFiles(join(tmp, "ref"), dir, [...COMPARED, FILES.report]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** `replay INPUT` into `dir` in the background (reading and writing under `tmp`), and whether
 * it has exited yet. */
async function spawnReplay(input: string, dir: string, tmp: string, more: string[] = []) {
  const child = (await vigilCommand(["replay", input, "--data-dir", dir, ...more], {
    perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
  })).spawn();
  let done = false;
  child.status.then(() => done = true);
  return { child, exited: () => done };
}

/** A batch's worth of `stream_output.jsonl` at most: 8,192 lines of the longest in `input`. */
async function batchBytes(input: string): Promise<number> {
  const lines = (await Deno.readTextFile(input)).split("\n");
  return 8192 * (lines.reduce((most, l) => Math.max(most, l.length), 0) + 1);
}

/**
 * How far `stream_output.jsonl` in `dir` is past the size its checkpoint records, in bytes: the
 * file's size read first, then the checkpoint, so that a commit between the two can only make
 * it smaller (0 before the first checkpoint).
 */
async function uncommitted(dir: string): Promise<number> {
  try {
    const size = (await Deno.stat(join(dir, FILES.stream))).size;
    const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
    return size - cp.files[FILES.stream];
  } catch {
    return 0; // not there yet, or a checkpoint being replaced
  }
}

Deno.test("a replay as fast as it can, killed with -9 past its last checkpoint, resumes exactly", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // 200,000 readings, 22 MB: batches of 8,192 lines, commits 250 ms apart.
    const input = join(tmp, "in.jsonl");
    await writeJsonl(input, recording(200_000, 20, 1000));
    const batch = await batchBytes(input);
    const ref = await replay(input, join(tmp, "ref"), tmp);
    assert.ok(ref.anomalies > 0 && ref.rows > 0);
    const dir = join(tmp, "killed");
    const { child, exited } = await spawnReplay(input, dir, tmp);
    // Killed once it has written more than a batch past its last checkpoint: a run that
    // committed every batch is never there (at most the batch being written).
    const deadline = Date.now() + 30_000;
    while (!exited() && Date.now() < deadline && (await uncommitted(dir)) <= 1.5 * batch) {
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
    assert.equal(status.signal, "SIGKILL", "the replay ended before it was past a checkpoint");
    assert.ok((await uncommitted(dir)) > batch, "killed no more than a batch past a checkpoint");
    const last = await replay(input, dir, tmp);
    assert.equal(last.readings, 200_000);
    await assertSameFiles(join(tmp, "ref"), dir, [...COMPARED, FILES.report]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a paced replay (--rate) still commits every batch", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // 100,000 readings 20 ms apart (2,000 s) at --rate 2000: about a second of replay.
    const input = join(tmp, "in.jsonl");
    await writeJsonl(input, recording(100_000, 20, 20));
    const batch = await batchBytes(input);
    const dir = join(tmp, "d");
    const { child, exited } = await spawnReplay(input, dir, tmp, ["--rate", "2000"]);
    let most = 0, polls = 0;
    while (!exited()) {
      most = Math.max(most, await uncommitted(dir));
      polls++;
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok((await child.status).success);
    await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
    assert.ok(polls > 20, `only ${polls} looks while it ran`);
    // Never more than the batch being written past the checkpoint.
    assert.ok(most <= batch, `${most} bytes past the checkpoint, more than a batch (${batch})`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("--rate 10 replays a 2-second recording in about 0.2 s, same outputs", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // 21 readings 100 ms apart: 2 s of event time.
    const input = join(tmp, "in.jsonl");
    await writeJsonl(input, recording(21, 1, 100));
    const paced = await replay(input, join(tmp, "paced"), tmp, ["--rate", "10"]);
    assert.ok(
      paced.seconds! >= 0.15 && paced.seconds! <= 2,
      `took ${paced.seconds} s, expected about 0.2 s`,
    );
    const fast = await replay(input, join(tmp, "fast"), tmp, ["--rate", "max"]);
    assert.equal(fast.readings, 21);
    await assertSameFiles(join(tmp, "fast"), join(tmp, "paced"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a bad --rate exits 2 naming it", async () => {
  const cases: [string[], RegExp][] = [
    [["replay", "x.jsonl", "--rate", "fast"], /^vigil: bad value for --rate: "fast" \(must be/],
    [["replay", "x.jsonl", "--rate", "0"], /^vigil: bad value for --rate: "0"/],
    [["replay", "x.jsonl", "--rate=-2"], /^vigil: bad value for --rate: "-2"/],
    [["start", "--rate", "10"], /^vigil: --rate paces a recorded file/],
  ];
  for (const [args, msg] of cases) {
    const out = await runVigil(args, { perms: [] });
    assert.equal(out.code, 2, args.join(" "));
    assert.match(out.stderr, msg);
  }
});

/** A clock whose timers fire at once, moving the time to their due time. */
class JumpClock implements Clock {
  t = 1_000_000;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    this.t += ms;
    queueMicrotask(fn);
    return 0;
  };
  clearTimeout = () => {};
}

Deno.test("pacing: due times come from one anchor, so slow processing does not drift", async () => {
  const clock = new JumpClock();
  const speed = 4;
  const times = [0, 100, 100, 260, 900, 905, 4000, 3000, 5000];
  const batches: Batch[] = times.map((t, i) => ({
    readings: [{ timestamp: T0 + t, machine: "m1", status: null, channels: { x: i } }],
    errors: [],
    lines: 1,
    suppress: false,
    log: true,
  }));
  // Two history batches first: they pass at once and do not set the anchor.
  const history = [5000, 0].map((t): Batch => ({
    ...batches[0]!,
    readings: [{ ...batches[0]!.readings[0]!, timestamp: T0 - t }],
    suppress: true,
  }));
  const source = ReadableStream.from([...history, ...batches]);
  const released: number[] = [];
  const start = clock.now();
  for await (const b of source.pipeThrough(new RateLimitStream({ speed, clock }))) {
    if (b.suppress) {
      assert.equal(clock.now(), start, "history was held back");
      continue;
    }
    released.push(clock.now() - start);
    clock.t += 30; // processing a batch takes 30 ms
  }
  // Each batch is released when due (anchor + event gap / speed) or, when processing ran
  // late, right away; lateness never shifts the batches after it.
  let prev = -Infinity;
  const expected = times.map((t) => {
    prev = Math.max(t / speed, prev + 30);
    return prev;
  });
  assert.deepEqual(released, expected);
  assert.deepEqual(released.slice(-1), [5000 / speed]);
});

Deno.test("pacing: readings due within 10 ms share a batch, with exact line counts", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const path = join(tmp, "in.jsonl");
    const at = (ms: number) => JSON.stringify({ timestamp: T0 + ms, x: ms });
    // Event-time gaps at --rate 2: 0, 0.5, 1, 25, 25.5 and 100 ms of wall clock.
    await Deno.writeTextFile(
      path,
      [at(0), at(1), "not json", at(2), at(50), "", at(51), at(200)].join("\n") + "\n",
    );
    const clock = new JumpClock();
    const input = await RecordedInput.open(path, null);
    const batches = await batchesOf(input.stream({ speed: 2, clock }));
    assert.deepEqual(batches.map((b) => b.readings.map((r) => r.channels.x)), [
      [0, 1, 2],
      [50, 51],
      [200],
    ]);
    assert.deepEqual(batches.map((b) => b.lines), [4, 3, 1]);
    assert.equal(batches[0]!.errors.length, 1);
    // Without pacing it is one batch.
    const fast = await batchesOf((await RecordedInput.open(path, null)).stream());
    assert.deepEqual(fast.map((b) => b.lines), [8]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("pacing: an abort ends a real-time stream during its wait", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const path = join(tmp, "hourly.jsonl");
    const lines = Array.from(
      { length: 5 },
      (_, i) => JSON.stringify({ timestamp: T0 + i * 3_600_000, x: i }),
    );
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const stop = new AbortController();
    const input = await RecordedInput.open(path, null);
    const reader = input.stream({ speed: 1, signal: stop.signal }).getReader();
    const first = await reader.read();
    assert.equal(first.value?.readings[0]?.channels.x, 0);
    setTimeout(() => stop.abort(), 50);
    // Not cut short, the wait would last an hour: give up after 5 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      reader.read(),
      new Promise<"late">((r) => timer = setTimeout(() => r("late"), 5000)),
    ]);
    clearTimeout(timer);
    assert.notEqual(next, "late", "the wait was not cut short");
    assert.equal(next !== "late" && next.done, true, "a reading an hour later came through");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** `/health`'s reading count of the (only) source. */
async function healthReadings(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  const body = await res.json();
  return body.sources[0].readings as number;
}

Deno.test("start --source file: --rate 10 streams readings over time; Ctrl-C stops it", async () => {
  const tmp = await Deno.makeTempDir();
  const perms = [`--allow-read=${tmp}`, `--allow-write=${tmp}`, "--allow-net=127.0.0.1"];
  try {
    // 40 readings 500 ms apart: 19.5 s of event time, about 2 s at --rate 10.
    const input = join(tmp, "in.parquet");
    const rows = recording(40, 1, 500);
    await writeParquet(input, rows, 16);
    const dir = join(tmp, "d");
    const vigil = await startVigil(
      ["--source", `file:${input}`, "--rate", "10", "--port", "0", "--data-dir", dir],
      { perms },
    );
    const port = vigil.port;
    const seen: number[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const n = await healthReadings(port);
      seen.push(n);
      if (n === 40) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await vigil.stop("SIGINT")).code, 0);
    assert.equal(seen.at(-1), 40, `counts: ${seen}`);
    assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]!), `counts: ${seen}`);
    const between = new Set(seen.filter((n) => n > 0 && n < 40));
    assert.ok(between.size >= 3, `readings did not arrive over time: ${seen}`);
    // In event-time order, every reading once.
    const stream = (await Deno.readTextFile(join(dir, FILES.stream))).trim().split("\n");
    assert.deepEqual(stream, rows.map(formatReading));

    // Real time over an hour of readings: Ctrl-C stops it promptly, and the next start
    // (as fast as possible) carries on from the checkpoint.
    const hourly = join(tmp, "hour.jsonl");
    const many = recording(3600, 1, 1000);
    await writeJsonl(hourly, many);
    const dir2 = join(tmp, "d2");
    const args = ["--source", `file:${hourly}`, "--port", "0", "--data-dir", dir2];
    const slow = await startVigil([...args, "--rate", "realtime"], { perms });
    const slowPort = slow.port;
    const until = Date.now() + 20_000;
    while ((await healthReadings(slowPort)) < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const stopped = Date.now();
    assert.equal((await slow.stop("SIGINT")).code, 0);
    assert.ok(Date.now() - stopped < 5000, "Ctrl-C did not stop the paced source promptly");
    const cp = JSON.parse(await Deno.readTextFile(join(dir2, FILES.checkpoint)));
    assert.ok(cp.lines >= 2 && cp.lines < 100, `checkpoint at ${cp.lines} lines`);
    const rest = await startVigil(args, { perms });
    const restPort = rest.port;
    const end = Date.now() + 20_000;
    while ((await healthReadings(restPort)) < 3600 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await rest.stop("SIGINT")).code, 0);
    const all = (await Deno.readTextFile(join(dir2, FILES.stream))).trim().split("\n");
    assert.deepEqual(all, many.map(formatReading));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
