/**
 * `GET /metrics`: the exact text exposition (format 0.0.4) for known counts, the label bound,
 * and a real Prometheus server (the Debian `prometheus` package, installed by `.ci/run`)
 * scraping a served app and answering a PromQL query with the value the engine counted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../routes/app.ts";
import {
  type AnomalyEvent,
  type DeliveryStats,
  EngineState,
  Metrics,
  type ProcessedRow,
  type Reading,
  type Sink,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

const reading = (i: number, machine = "m1"): Reading => ({
  timestamp: T0 + i * 1000,
  machine,
  status: "RUNNING",
  channels: { temperature: 20 + i },
});

const row = (i: number): ProcessedRow => ({
  timestamp: new Date(T0 + i * 1000).toISOString(),
  machine: "m1",
  channels: { temperature: { current: 21, moving_avg: 20.5, trend: "stable", zscore: 0.1 } },
  status_current: "RUNNING",
  status_mode: "RUNNING",
  status_changes: 0,
  health_score: 1,
  alerts: [],
});

const anomaly = (type: string, severity: AnomalyEvent["severity"]): AnomalyEvent => ({
  timestamp: new Date(T0).toISOString(),
  machine: "m1",
  type,
  severity,
  channel: "temperature",
  value: 95,
  threshold: 80,
  description: "x",
});

/** A sink that reports one webhook target with these counts. */
function webhookSink(
  counts: Pick<DeliveryStats, "queued" | "delivered" | "dropped" | "rejected" | "failures">,
): Sink {
  const stats: DeliveryStats = {
    sink: "webhook",
    label: "Webhook POST",
    items: "Anomaly events",
    target: "http://hooks.example/a",
    ...counts,
  };
  return { health: () => [stats] };
}

Deno.test("GET /metrics is the exact text exposition of known counts", async () => {
  const state = new EngineState();
  // A source name with every character the format must escape in a label value.
  const odd = 'file:C:\\data\\"odd"\nname.csv';
  state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
  state.setSource({ name: odd, state: "finished", readings: 0, errors: 0 });
  state.countSource("simulator", 4, 1);
  state.countSource(odd, 7, 2);
  state.recordReadings([reading(0), reading(1, "m2")]);
  // m1 again at its latest time; m2 before its latest, twice.
  state.recordReadings([reading(0), reading(0, "m2"), reading(1, "m2"), reading(0, "m2")]);
  state.recordErrors(3);

  const metrics = new Metrics({
    state,
    events: { clients: 2, dropped: 1 },
    sinks: [webhookSink({ queued: 4, delivered: 10, dropped: 1, rejected: 2, failures: 3 })],
  });
  metrics.readings([reading(0), reading(1), reading(2)]);
  metrics.readings([reading(3)]);
  metrics.row(row(0));
  metrics.row(row(1));
  metrics.anomaly(anomaly("THRESHOLD_BREACH_TEMP", "CRITICAL"));
  metrics.anomaly(anomaly("RAPID_CHANGE_SPEED", "WARNING"));
  metrics.anomaly(anomaly("THRESHOLD_BREACH_TEMP", "CRITICAL"));
  metrics.observeKernel(250, 3);
  metrics.observeKernel(500, 1);
  metrics.observeKernel(-5, 1); // ignored: a counter never decreases

  const app = createApp(state, { metrics });
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const expected = `# HELP vigil_readings_total Readings written by the pipeline.
# TYPE vigil_readings_total counter
vigil_readings_total 4
# HELP vigil_rows_total Processed rows written.
# TYPE vigil_rows_total counter
vigil_rows_total 2
# HELP vigil_anomalies_total Anomaly events raised, by type and severity.
# TYPE vigil_anomalies_total counter
vigil_anomalies_total{type="RAPID_CHANGE_SPEED",severity="WARNING"} 1
vigil_anomalies_total{type="THRESHOLD_BREACH_TEMP",severity="CRITICAL"} 2
# HELP vigil_parser_errors_total Input lines or readings rejected (parser errors and refused readings).
# TYPE vigil_parser_errors_total counter
vigil_parser_errors_total 3
# HELP vigil_reading_order_total Readings not later than their machine's latest: older (out_of_order) or at the same time (duplicate_timestamp); processed as they came.
# TYPE vigil_reading_order_total counter
vigil_reading_order_total{kind="out_of_order"} 2
vigil_reading_order_total{kind="duplicate_timestamp"} 2
# HELP vigil_source_up 1 while the source is starting or running, 0 when finished or failed.
# TYPE vigil_source_up gauge
vigil_source_up{source="simulator"} 1
vigil_source_up{source="file:C:\\\\data\\\\\\"odd\\"\\nname.csv"} 0
# HELP vigil_source_readings_total Readings read from the source.
# TYPE vigil_source_readings_total counter
vigil_source_readings_total{source="simulator"} 4
vigil_source_readings_total{source="file:C:\\\\data\\\\\\"odd\\"\\nname.csv"} 7
# HELP vigil_source_errors_total Lines from the source the parser rejected.
# TYPE vigil_source_errors_total counter
vigil_source_errors_total{source="simulator"} 1
vigil_source_errors_total{source="file:C:\\\\data\\\\\\"odd\\"\\nname.csv"} 2
# HELP vigil_machines Machines seen.
# TYPE vigil_machines gauge
vigil_machines 2
# HELP vigil_kernel_seconds_total Time spent in the analysis kernel, seconds.
# TYPE vigil_kernel_seconds_total counter
vigil_kernel_seconds_total 0.75
# HELP vigil_kernel_readings_total Readings passed through the analysis kernel.
# TYPE vigil_kernel_readings_total counter
vigil_kernel_readings_total 4
# HELP vigil_kernel_calls_total Analysis kernel calls (batches).
# TYPE vigil_kernel_calls_total counter
vigil_kernel_calls_total 2
# HELP vigil_event_clients Clients subscribed to GET /events.
# TYPE vigil_event_clients gauge
vigil_event_clients 2
# HELP vigil_event_clients_dropped_total Event-stream clients dropped for falling too far behind.
# TYPE vigil_event_clients_dropped_total counter
vigil_event_clients_dropped_total 1
# HELP vigil_webhook_queued Anomaly events waiting in the webhook spool.
# TYPE vigil_webhook_queued gauge
vigil_webhook_queued{target="http://hooks.example/a"} 4
# HELP vigil_webhook_delivered_total Anomaly events acknowledged by the webhook target.
# TYPE vigil_webhook_delivered_total counter
vigil_webhook_delivered_total{target="http://hooks.example/a"} 10
# HELP vigil_webhook_dropped_total Anomaly events evicted unsent because the webhook queue was full.
# TYPE vigil_webhook_dropped_total counter
vigil_webhook_dropped_total{target="http://hooks.example/a"} 1
# HELP vigil_webhook_rejected_total Anomaly events the webhook target refused with a permanent 4xx.
# TYPE vigil_webhook_rejected_total counter
vigil_webhook_rejected_total{target="http://hooks.example/a"} 2
# HELP vigil_webhook_failures_total Webhook POST attempts that failed and were retried.
# TYPE vigil_webhook_failures_total counter
vigil_webhook_failures_total{target="http://hooks.example/a"} 3
# HELP vigil_start_time_seconds Start time of the engine, seconds since the epoch.
# TYPE vigil_start_time_seconds gauge
vigil_start_time_seconds ${state.startedAt / 1000}
`;
  assert.equal(await res.text(), expected);
  // The escaping, spelled out: backslash → \\, quote → \", line feed → \n.
  assert.ok(expected.includes(String.raw`source="file:C:\\data\\\"odd\"\nname.csv"`));
});

Deno.test("anomaly label pairs are bounded: further pairs count under type=other", async () => {
  const state = new EngineState();
  const metrics = new Metrics({ state, maxAnomalySeries: 2 });
  metrics.anomaly(anomaly("A", "WARNING"));
  metrics.anomaly(anomaly("B", "CRITICAL"));
  metrics.anomaly(anomaly("C", "WARNING"));
  metrics.anomaly(anomaly("D", "WARNING"));
  metrics.anomaly(anomaly("A", "WARNING"));
  const text = await (await createApp(state, { metrics }).request("/metrics")).text();
  const lines = text.split("\n").filter((l) => l.startsWith("vigil_anomalies_total"));
  assert.deepEqual(lines, [
    'vigil_anomalies_total{type="A",severity="WARNING"} 2',
    'vigil_anomalies_total{type="B",severity="CRITICAL"} 1',
    'vigil_anomalies_total{type="other",severity="WARNING"} 2',
  ]);
  assert.throws(() => new Metrics({ state, maxAnomalySeries: 0 }), /got 0/);
});

Deno.test("without the metrics option /metrics is not mounted", async () => {
  const res = await createApp(new EngineState()).request("/metrics");
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

/** A TCP port free right now on 127.0.0.1. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("a real Prometheus scrapes /metrics and answers a query with the counted value", async () => {
  const state = new EngineState();
  state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
  // Prometheus's own parser must accept the escaped label value (else the scrape fails: up 0).
  state.setSource({ name: 'C:\\a "b"\nc', state: "error", readings: 0, errors: 0 });
  state.countSource('C:\\a "b"\nc', 0, 5);
  const metrics = new Metrics({ state });
  metrics.readings(Array.from({ length: 42 }, (_, i) => reading(i)));
  metrics.anomaly(anomaly("THRESHOLD_BREACH_TEMP", "CRITICAL"));
  const app = createApp(state, { metrics });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const dir = await Deno.makeTempDir();
  const config = join(dir, "prometheus.yml");
  await Deno.writeTextFile(
    config,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vigil
    static_configs:
      - targets: ["127.0.0.1:${server.addr.port}"]
`,
  );
  const promPort = freePort();
  const log = await Deno.open(join(dir, "prometheus.log"), { write: true, create: true });
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logged = child.stderr.pipeTo(log.writable);
  const api = `http://127.0.0.1:${promPort}`;

  /** The query's single value, or `undefined` while Prometheus has none (or is not up yet). */
  async function query(promql: string): Promise<string | undefined> {
    try {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = await res.json();
      return body?.data?.result?.[0]?.value?.[1];
    } catch {
      return undefined;
    }
  }
  /** Polls until `promql` gives `want`: generous, since a loaded CI machine scrapes late. */
  async function until(promql: string, want: string, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    let got: string | undefined;
    while (Date.now() < end) {
      got = await query(promql);
      if (got === want) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    const tail = await Deno.readTextFile(join(dir, "prometheus.log")).catch(() => "");
    throw new Error(
      `Prometheus: ${promql} is ${got}, want ${want}; its log ends:\n${tail.slice(-2000)}`,
    );
  }

  try {
    await until("vigil_readings_total", "42");
    await until('vigil_anomalies_total{type="THRESHOLD_BREACH_TEMP",severity="CRITICAL"}', "1");
    await until('vigil_source_up{source="simulator"}', "1");
    await until('up{job="vigil"}', "1");
    await until('vigil_source_errors_total{source="C:\\\\a \\"b\\"\\nc"}', "5");
    // The Grafana dashboard: every query is valid PromQL for this Prometheus, and every metric
    // it names is one the engine exposes.
    const dashboard = JSON.parse(
      await Deno.readTextFile(new URL("../../grafana/vigil-dashboard.json", import.meta.url)),
    );
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr)
    );
    assert.ok(exprs.length >= 4, `dashboard queries: ${exprs.length}`);
    const full = new Metrics({
      state,
      events: { clients: 0, dropped: 0 },
      // A configured webhook: its families are exposed from its first target on.
      sinks: [webhookSink({ queued: 0, delivered: 0, dropped: 0, rejected: 0, failures: 0 })],
    }).render();
    for (const expr of exprs) {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = await res.json();
      assert.equal(body.status, "success", `${expr}: ${JSON.stringify(body)}`);
      for (const name of expr.match(/vigil_[a-z_]+/g) ?? []) {
        assert.ok(full.includes(`# TYPE ${name} `), `${expr}: ${name} is not exposed`);
      }
    }
    // Live, not a one-off: a later count shows up at a later scrape.
    metrics.readings(Array.from({ length: 8 }, (_, i) => reading(42 + i)));
    await until("vigil_readings_total", "50");
  } finally {
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await child.status;
    clearTimeout(killer);
    await logged.catch(() => {});
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
