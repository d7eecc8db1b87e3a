/**
 * `replay --influx` into a real InfluxDB 1.x (`influxd`, tests/influxd.ts): what InfluxQL reads
 * back equals, point for point, what Vigil wrote to its own files (stream_output.jsonl,
 * analysis_output.csv, anomalies.jsonl); the server stopped mid-run and started again loses and
 * doubles nothing; and every query of grafana/vigil-influx-dashboard.json runs on the server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { csvParse } from "d3-dsv";
import { generateReadings } from "../../simulator/mod.ts";
import { runVigil } from "../helpers.ts";
import { type Influxd, startInfluxd } from "../influxd.ts";
import { formatReading } from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const DB = "vigil";

/** 3 machines × `count` readings, 2 s apart, with faults: a JSONL file in `dir`. */
async function makeInput(dir: string, count: number): Promise<string> {
  const path = join(dir, "input.jsonl");
  const readings = generateReadings({
    machines: 3,
    seed: 7,
    count,
    start: T0,
    intervalMs: 2000,
    faultRate: 0.05,
  });
  await Deno.writeTextFile(path, [...readings].map(formatReading).join("\n") + "\n");
  return path;
}

/** Every point of `measurement`, as objects keyed by column (tags included), time in ms. */
async function points(influx: Influxd, measurement: string): Promise<Record<string, unknown>[]> {
  const r = await influx.query(`SELECT * FROM "${measurement}"`, DB);
  const s = r.series[0];
  if (!s) return [];
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, k) => [c, v[k]])));
}

async function count(influx: Influxd, q: string): Promise<number> {
  const r = await influx.query(q, DB);
  return Number(r.series[0]?.values[0]?.[1] ?? 0);
}

/** What the data directory's files say, keyed by what makes a point unique. */
async function filesOf(dataDir: string) {
  const lines = (name: string) =>
    Deno.readTextFile(join(dataDir, name)).then((t) => t.split("\n").filter((l) => l !== ""));
  const stream = (await lines("stream_output.jsonl")).map((l) => JSON.parse(l));
  const rows = csvParse(await Deno.readTextFile(join(dataDir, "analysis_output.csv")));
  const anomalies = (await lines("anomalies.jsonl")).map((l) => JSON.parse(l));
  return { stream, rows, anomalies };
}

/** Compares the three measurements with the files: same count, same values. */
async function assertSameAsFiles(influx: Influxd, dataDir: string): Promise<void> {
  const files = await filesOf(dataDir);
  const readings = new Map(
    (await points(influx, "vigil_reading")).map((p) => [`${p.machine} ${p.time}`, p]),
  );
  assert.equal(await count(influx, `SELECT count(status) FROM vigil_reading`), files.stream.length);
  for (const line of files.stream) {
    const { timestamp, machine, status, injected: _, ...channels } = line;
    const p = readings.get(`${machine} ${Date.parse(timestamp)}`);
    assert.ok(p, `no point for ${machine} at ${timestamp}`);
    assert.equal(p.status, status);
    for (const [name, value] of Object.entries(channels)) assert.equal(p[name], value, name);
  }

  // Each machine's temperatures in order, for the window behind each row (below).
  const temperatures = new Map<string, { time: number; value: number }[]>();
  for (const line of files.stream) {
    if (typeof line.temperature !== "number") continue;
    const list = temperatures.get(line.machine) ?? [];
    list.push({ time: Date.parse(line.timestamp), value: line.temperature });
    temperatures.set(line.machine, list);
  }

  const rows = new Map(
    (await points(influx, "vigil_row")).map((p) => [`${p.machine} ${p.time}`, p]),
  );
  assert.ok(files.rows.length > 0);
  assert.equal(await count(influx, `SELECT count(health_score) FROM vigil_row`), files.rows.length);
  for (const row of files.rows) {
    const p = rows.get(`${row.machine} ${Date.parse(row.timestamp!)}`);
    assert.ok(p, `no row point for ${row.machine} at ${row.timestamp}`);
    for (const [column, cell] of Object.entries(row)) {
      if (column === "timestamp" || column === "machine" || cell === "") continue;
      const want = column.endsWith("_trend") || column.startsWith("status_") &&
          column !== "status_changes" ||
          column === "alerts"
        ? cell
        : Number(cell);
      assert.equal(p[column], want, `${row.machine} ${row.timestamp} ${column}`);
    }
    // The ±z·σ band of the dashboard needs the window's standard deviation: that of the reading
    // which closed the row, over the default window of its machine's last 5 values (population
    // σ, as the kernel's), not another reading's of the batch.
    const list = temperatures.get(row.machine!)!;
    const at = list.findLastIndex((x) => x.time === Date.parse(row.timestamp!));
    assert.ok(at >= 0, `no temperature of ${row.machine} at ${row.timestamp}`);
    const window = list.slice(Math.max(0, at - 4), at + 1).map((x) => x.value);
    const mean = window.reduce((a, b) => a + b, 0) / window.length;
    const sd = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / window.length);
    assert.ok(
      Math.abs(Number(p.temperature_moving_avg) - mean) <= 0.0005 + 1e-9,
      `${row.machine} ${row.timestamp}: moving_avg ${p.temperature_moving_avg}, window mean ${mean}`,
    );
    assert.ok(
      Math.abs(Number(p.temperature_std) - sd) <= 1e-6 * Math.max(1, sd),
      `${row.machine} ${row.timestamp}: temperature_std ${p.temperature_std}, window σ ${sd}`,
    );
  }

  const events = await points(influx, "vigil_anomaly");
  assert.ok(files.anomalies.length > 0);
  assert.equal(events.length, files.anomalies.length);
  const byKey = new Map(events.map((p) => [`${p.machine} ${p.time} ${p.type} ${p.channel}`, p]));
  for (const e of files.anomalies) {
    const p = byKey.get(`${e.machine} ${Date.parse(e.timestamp)} ${e.type} ${e.channel}`);
    assert.ok(p, JSON.stringify(e));
    assert.deepEqual(
      [p.severity, p.value ?? null, p.threshold ?? null, p.description],
      [e.severity, e.value, e.threshold, e.description],
    );
  }
}

/**
 * Every InfluxQL query of the Grafana dashboard (panels, annotations, variables), with its
 * variables as Grafana fills them in, runs on the server without error, and the panels' and
 * annotations' queries find data.
 */
async function assertDashboardRuns(influx: Influxd): Promise<void> {
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("../../grafana/vigil-influx-dashboard.json", import.meta.url)),
  );
  const machine = (await influx.query(
    `SHOW TAG VALUES FROM "vigil_reading" WITH KEY = "machine"`,
    DB,
  )).series[0]!.values[0]![1] as string;
  const fill = (q: string) =>
    q.replaceAll("$timeFilter", `time >= ${T0}ms AND time <= ${T0 + 86_400_000}ms`)
      .replaceAll("$__interval", "1m")
      .replaceAll("${channel}", "temperature")
      .replaceAll("$channel", "temperature")
      .replaceAll("$machine", machine.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"))
      .replaceAll("$z", "3");
  type Query = { query?: string; datasource?: unknown };
  const withData: string[] = [
    ...dashboard.panels.flatMap((p: { targets: Query[] }) => p.targets.map((t) => t.query!)),
    ...dashboard.annotations.list.map((a: Query) => a.query!),
  ];
  const variables: string[] = dashboard.templating.list
    .filter((v: { type: string }) => v.type === "query")
    .map((v: Query) => v.query!);
  assert.ok(withData.length >= 7, `dashboard queries: ${withData.length}`);
  for (const q of [...withData, ...variables]) {
    const { status, results } = await influx.queryAll(fill(q), DB);
    assert.equal(status, 200, q);
    assert.ok(
      results.length > 0 && results.every((r) => !r.error),
      `${q}: ${JSON.stringify(results)}`,
    );
    // Anomaly scores need a model: the one query allowed to find nothing here.
    if (withData.includes(q) && !q.includes("anomaly_score")) {
      assert.ok(results[0]!.series.length > 0, `${q} found nothing`);
    }
  }
}

Deno.test("replay --influx: InfluxDB holds exactly what Vigil wrote to its files", async () => {
  await using influx = await startInfluxd();
  await influx.query(`CREATE DATABASE ${DB}`);
  const dir = await Deno.makeTempDir();
  try {
    const input = await makeInput(dir, 1500);
    const dataDir = join(dir, "data");
    const out = await runVigil([
      "replay",
      input,
      "--data-dir",
      dataDir,
      "--influx",
      `${influx.url}/${DB}`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    await assertSameAsFiles(influx, dataDir);
    await assertDashboardRuns(influx);
    // Replayed again into a new data directory: every point overwrites itself.
    const again = await runVigil([
      "replay",
      input,
      "--data-dir",
      join(dir, "again"),
      "--influx",
      `${influx.url}/?db=${DB}`,
    ]);
    assert.equal(again.code, 0, again.stderr);
    await assertSameAsFiles(influx, dataDir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("influxd stopped mid-run and started again: nothing lost, nothing doubled", async () => {
  await using influx = await startInfluxd();
  await influx.query(`CREATE DATABASE ${DB}`);
  const dir = await Deno.makeTempDir();
  try {
    // 6000 s of event time at 600× real time: a replay of about 10 s.
    const input = await makeInput(dir, 3000);
    const dataDir = join(dir, "data");
    const args = ["replay", input, "--data-dir", dataDir, "--influx", `${influx.url}/${DB}`];
    const replay = runVigil([...args, "--rate", "600"]);
    // Stopped once some points are in, started again a moment later.
    while (await count(influx, `SELECT count(status) FROM vigil_reading`) === 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await influx.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await influx.start();
    const out = await replay;
    assert.equal(out.code, 0, out.stderr);
    // Whatever the first run left spooled (the server may have come back after it ended) is
    // sent by the next run on the same data directory, which has no new readings to add.
    const rest = await runVigil(args);
    assert.equal(rest.code, 0, rest.stderr);
    const log = await Deno.readTextFile(join(dataDir, "logs", "processor.log"));
    assert.match(log, /influx delivery failed, will retry/);
    await assertSameAsFiles(influx, dataDir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
