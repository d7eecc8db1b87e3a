/**
 * The InfluxDB sink: line protocol known answers, the URL forms, and awkward machine ids and
 * channel names (commas, spaces, quotes, backslashes, equals signs, non-ASCII, a newline)
 * written by the sink to a real `influxd` (tests/influxd.ts) and read back with InfluxQL.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseInfluxUrl } from "../../engine/core/influx_url.ts";
import {
  anomalyPoint,
  escapeKey,
  readingPoint,
  rowPoint,
  stringField,
} from "../../engine/sinks/influx/line_protocol.ts";
import { startInfluxd } from "../influxd.ts";
import {
  type AnomalyEvent,
  InfluxSink,
  type ProcessedRow,
  type Reading,
  resolveConfig,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("line protocol: escaping and the three measurements", () => {
  assert.equal(escapeKey("a b,c=d"), "a\\ b\\,c\\=d");
  assert.equal(escapeKey("two\nlines\r"), "two\\ lines\\ ");
  assert.equal(escapeKey("C:\\dir\\"), "C:\\dir/");
  assert.equal(escapeKey("x\\,y"), "x/\\,y");
  assert.equal(stringField('a "q" \\ b\nc'), '"a \\"q\\" \\\\ b c"');
  assert.equal(
    readingPoint({
      timestamp: T0,
      machine: "m 1",
      status: "RUNNING",
      channels: { temperature: 71.5, "a=b": -2 },
    }),
    `vigil_reading,machine=m\\ 1 temperature=71.5,a\\=b=-2,status="RUNNING" ${T0}`,
  );
  assert.equal(readingPoint({ timestamp: T0, machine: "m", status: null, channels: {} }), null);
  const row: ProcessedRow = {
    timestamp: new Date(T0).toISOString(),
    machine: "m1",
    channels: { speed: { current: 1500, moving_avg: 1490, trend: "stable", zscore: NaN } },
    status_current: "RUNNING",
    status_mode: null,
    status_changes: 2,
    health_score: 0.9,
    alerts: ["a", "b"],
    anomaly_score: 0.61,
  };
  assert.equal(
    rowPoint(row, { speed: 12.5 }),
    `vigil_row,machine=m1 speed_current=1500,speed_moving_avg=1490,speed_std=12.5,` +
      `speed_trend="stable",status_current="RUNNING",status_changes=2i,health_score=0.9,` +
      `alerts="a; b",anomaly_score=0.61 ${T0}`,
  );
  const event: AnomalyEvent = {
    timestamp: new Date(T0).toISOString(),
    machine: "m1",
    type: "HEARTBEAT_LOSS",
    severity: "WARNING",
    channel: null,
    value: null,
    threshold: 5,
    description: "No data",
  };
  assert.equal(
    anomalyPoint(event),
    `vigil_anomaly,machine=m1,type=HEARTBEAT_LOSS,severity=WARNING threshold=5,` +
      `description="No data" ${T0}`,
  );
  assert.equal(anomalyPoint({ ...event, timestamp: "not a time" }), null);
});

Deno.test("--influx URL forms: 1.x database, 2.x/3.x bucket, and the errors", () => {
  const v1 = parseInfluxUrl("http://127.0.0.1:8086/vigil");
  assert.equal(v1.writeUrl, "http://127.0.0.1:8086/write?db=vigil&precision=ms");
  assert.equal(v1.api, "v1");
  assert.equal(
    parseInfluxUrl("https://h/proxy/influx/write?db=x&rp=week&u=me&p=secret").writeUrl,
    "https://h/proxy/influx/write?db=x&rp=week&u=me&p=secret&precision=ms",
  );
  const v2 = parseInfluxUrl("http://h:8086/api/v2/write?org=plant&bucket=vigil");
  assert.equal(v2.writeUrl, "http://h:8086/api/v2/write?org=plant&bucket=vigil&precision=ms");
  assert.equal(v2.target, "http://h:8086/api/v2/write");
  assert.equal(
    parseInfluxUrl("http://h:8181/?bucket=vigil").writeUrl,
    "http://h:8181/api/v2/write?bucket=vigil&precision=ms",
  );
  assert.throws(() => parseInfluxUrl("http://h:8086/"), /no database/);
  assert.throws(() => parseInfluxUrl("ftp://h/x"), /not http/);
  assert.throws(() => parseInfluxUrl("http://h/x?database=y"), /unknown parameter "database"/);
  assert.throws(() => parseInfluxUrl("nope?p=secret"), (e: Error) => !e.message.includes("secret"));
  assert.throws(
    () => resolveConfig({ influx: "http://h:8086/?p=secret" }),
    (e: Error) =>
      e.name === "ConfigError" && e.message.startsWith("bad value for --influx") &&
      !e.message.includes("secret"),
  );
  assert.equal(resolveConfig({ influx: "http://h:8086/vigil" }).influx, "http://h:8086/vigil");
});

Deno.test("2.x/3.x form: POST /api/v2/write with the token, precision ms", async () => {
  const seen: { path: string; auth: string | null; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    seen.push({
      path: u.pathname + u.search,
      auth: req.headers.get("authorization"),
      body: await req.text(),
    });
    return new Response(null, { status: 204 });
  });
  const dir = await Deno.makeTempDir();
  try {
    const sink = await InfluxSink.open({
      url: `http://127.0.0.1:${server.addr.port}/?org=plant&bucket=vigil`,
      token: "s3cret",
      dir,
    });
    sink.readings([{ timestamp: T0, machine: "m1", status: null, channels: { t: 1 } }]);
    await sink.close();
    assert.deepEqual(seen, [{
      path: "/api/v2/write?org=plant&bucket=vigil&precision=ms",
      auth: "Token s3cret",
      body: `vigil_reading,machine=m1 t=1 ${T0}`,
    }]);
    assert.equal(sink.health()[0]!.target, `http://127.0.0.1:${server.addr.port}/api/v2/write`);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("awkward machine ids and channel names round-trip through a real influxd", async () => {
  await using influx = await startInfluxd();
  await influx.query("CREATE DATABASE vigil");
  const dir = await Deno.makeTempDir();
  // What each is written as: itself, except what the module doc says cannot be.
  const machines: [string, string][] = [
    ["press 1,hall=B", "press 1,hall=B"],
    ['quote"d', 'quote"d'],
    ["C:\\plant\\line", "C:\\plant\\line"],
    ["Straße-Überwachung 機械", "Straße-Überwachung 機械"],
    ["ends\\", "ends/"],
    ["two\nlines", "two lines"],
  ];
  const channels = ["temp °C", "a,b", "x=y", 'q"uote', "back\\slash", "速度"];
  const readings: Reading[] = machines.map(([m], i) => ({
    timestamp: T0 + i,
    machine: m,
    status: 'RUN "fast" \\ now',
    channels: Object.fromEntries(channels.map((c, k) => [c, i * 10 + k + 0.5])),
  }));
  const events: AnomalyEvent[] = machines.map(([m], i) => ({
    timestamp: new Date(T0 + i).toISOString(),
    machine: m,
    type: "ZSCORE_TEMP °C",
    severity: "WARNING",
    channel: "a,b c=d",
    value: i,
    threshold: 3,
    description: `"${m}" unusual \\ z`,
  }));
  try {
    const sink = await InfluxSink.open({ url: `${influx.url}/vigil`, dir });
    sink.readings(readings);
    for (const e of events) sink.anomaly(e);
    await sink.close(30_000);
    const h = sink.health()[0]!;
    assert.deepEqual([h.delivered, h.rejected, h.queued], [12, 0, 0]);

    const tags = await influx.query(
      `SHOW TAG VALUES FROM vigil_reading WITH KEY = "machine"`,
      "vigil",
    );
    assert.deepEqual(
      tags.series[0]!.values.map((v) => v[1]).sort(),
      machines.map(([, written]) => written).sort(),
    );
    const rows = await influx.query(`SELECT * FROM vigil_reading GROUP BY "machine"`, "vigil");
    assert.equal(rows.series.length, machines.length);
    for (const [i, [, written]] of machines.entries()) {
      const s = rows.series.find((s) => s.tags?.machine === written)!;
      assert.ok(s, written);
      const [values] = s.values;
      const got = Object.fromEntries(s.columns.map((c, k) => [c, values![k]]));
      const want = Object.fromEntries(channels.map((c, k) => [c, i * 10 + k + 0.5]));
      assert.deepEqual(got, { time: T0 + i, status: 'RUN "fast" \\ now', ...want });
    }
    const anomalies = await influx.query(
      `SELECT * FROM vigil_anomaly WHERE "channel" = 'a,b c=d' AND "type" = 'ZSCORE_TEMP °C'`,
      "vigil",
    );
    assert.deepEqual(
      anomalies.series[0]!.values.map((v) => {
        const row = Object.fromEntries(anomalies.series[0]!.columns.map((c, k) => [c, v[k]]));
        return [row.machine, row.description, row.value];
      }).sort(),
      events.map((e, i) => [machines[i]![1], e.description.replace("\n", " "), i]).sort(),
    );
    // Written twice: overwritten, never doubled.
    const again = await InfluxSink.open({ url: `${influx.url}/vigil`, dir: join(dir, "again") });
    again.readings(readings);
    await again.close(30_000);
    const count = await influx.query(`SELECT count("速度") FROM vigil_reading`, "vigil");
    assert.equal(count.series[0]!.values[0]![1], machines.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
