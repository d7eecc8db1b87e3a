/**
 * The HTTP API in-process: `app.request()` against a real `EngineState` fed in the test, with a
 * fake `MachineController` that records calls. No socket, no simulator.
 *
 * Past ~400 lines: the whole suite of one component (routes), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import {
  type AnomalyEvent,
  EngineState,
  HistoryStore,
  type Logger,
  type LogLevel,
  type MachineController,
  type MachineStatus,
  type ProcessedRow,
  type Reading,
  rowToObject,
} from "../../engine/mod.ts";
import { type ApiOptions, createApp } from "../../routes/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

const reading = (
  machine: string,
  i: number,
  channels: Record<string, number>,
  status: string | null = "RUNNING",
): Reading => ({ timestamp: T0 + i * 2000, machine, status, channels });

function row(
  machine: string,
  i: number,
  channels: string[] = ["temperature", "speed"],
): ProcessedRow {
  return {
    timestamp: iso(T0 + i * 2000),
    machine,
    channels: Object.fromEntries(
      channels.map((
        c,
        k,
      ) => [c, { current: 10 + k, moving_avg: 9 + k, trend: "stable", zscore: 0.5 }]),
    ),
    status_current: "RUNNING",
    status_mode: "RUNNING",
    status_changes: 1,
    health_score: 0.9,
    alerts: ["TEMP_HIGH"],
  };
}

const anomaly = (
  machine: string,
  i: number,
  type: string,
  severity: AnomalyEvent["severity"],
): AnomalyEvent => ({
  timestamp: iso(T0 + i * 2000),
  machine,
  type,
  severity,
  channel: "temperature",
  value: 95.5,
  threshold: 80,
  description: `${type} on ${machine}`,
});

/** A controller that records every call and answers with a reading in the new status. */
class FakeController implements MachineController {
  readonly calls: [string, MachineStatus][] = [];
  constructor(
    readonly controlled: ReadonlySet<string>,
    readonly fail: Error | null = null,
  ) {}
  controls(machine: string): boolean {
    return this.controlled.has(machine);
  }
  setStatus(machine: string, status: MachineStatus): Promise<Reading> {
    this.calls.push([machine, status]);
    if (this.fail) return Promise.reject(this.fail);
    return Promise.resolve(reading(machine, 100, { temperature: 21.5, speed: 0 }, status));
  }
}

/** A logger that keeps its entries, to assert on them. */
class MemoryLogger implements Logger {
  readonly entries: { level: LogLevel; msg: string; fields: Record<string, unknown> }[] = [];
  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    this.entries.push({ level, msg, fields });
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }
}

/**
 * A fleet of 3: m1 RUNNING (temperature, speed), m2 PAUSED (temperature, voltage), m3
 * COMPLETED with no processed row yet. m1 and m3 are controllable, m2 is not.
 */
function fleet(options: ApiOptions & { fail?: Error } = {}) {
  const state = new EngineState();
  state.recordReadings([
    reading("m1", 0, { temperature: 70, speed: 1400 }),
    reading("m2", 0, { temperature: 40, voltage: 5 }, "PAUSED"),
    reading("m1", 1, { temperature: 72.5, speed: 1500 }),
    reading("m3", 1, { temperature: 30, speed: 0 }, "COMPLETED"),
  ]);
  state.recordRow(row("m1", 1));
  state.recordRow(row("m2", 0, ["temperature", "voltage"]));
  state.recordAnomalies([
    anomaly("m1", 0, "THRESHOLD_BREACH_TEMP", "CRITICAL"),
    anomaly("m2", 1, "RAPID_CHANGE_VOLTAGE", "WARNING"),
    anomaly("m1", 2, "ZSCORE_SPEED", "INFO"),
    anomaly("m1", 3, "THRESHOLD_BREACH_TEMP", "WARNING"),
  ]);
  state.setSource({ name: "simulator", state: "running", readings: 4, errors: 0 });
  const controller = new FakeController(new Set(["m1", "m3"]), options.fail ?? null);
  state.setController(controller);
  const logger = new MemoryLogger();
  const app = createApp(state, { logger, ...options });
  return { state, controller, logger, app };
}

type App = ReturnType<typeof createApp>;

/** One request; the body as parsed JSON (every answer of this API is JSON). */
async function call(
  app: App,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; json?: unknown } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers["content-type"] ??= "application/json";
  }
  const res = await app.request(path, { method, headers, body });
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${method} ${path}`);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const get = (app: App, path: string) => call(app, "GET", path);
const post = (app: App, json: unknown, path = "/status") => call(app, "POST", path, { json });

// ---------------------------------------------------------------------------------------------
// GET /data

Deno.test("GET /data: the default machine's latest row, as the contract shapes it", async () => {
  const { app } = fleet();
  const before = Date.now();
  const res = await get(app, "/data");
  assert.equal(res.status, 200);
  const { timestamp, ...rest } = res.body;
  assert.ok(Date.parse(timestamp) >= before && Date.parse(timestamp) <= Date.now());
  assert.equal(timestamp, iso(Date.parse(timestamp)), "ISO 8601");
  assert.deepEqual(rest, {
    success: true,
    current_status: "RUNNING",
    processed_data: {
      timestamp: iso(T0 + 2000),
      machine: "m1",
      temperature_current: 10,
      temperature_moving_avg: 9,
      temperature_trend: "stable",
      temperature_zscore: 0.5,
      speed_current: 11,
      speed_moving_avg: 10,
      speed_trend: "stable",
      speed_zscore: 0.5,
      status_current: "RUNNING",
      status_mode_in_window: "RUNNING",
      status_changes: 1,
      health_score: 0.9,
      alerts: ["TEMP_HIGH"],
    },
  });
  assert.deepEqual(Object.keys(res.body), [
    "success",
    "timestamp",
    "current_status",
    "processed_data",
  ]);
});

Deno.test("GET /data?machine=: each machine of the fleet, unknown and row-less ones 404", async () => {
  const { app, state } = fleet();
  const m2 = await get(app, "/data?machine=m2");
  assert.equal(m2.status, 200);
  assert.equal(m2.body.current_status, "PAUSED");
  assert.deepEqual(m2.body.processed_data, rowToObject(state.machine("m2")!.lastRow!));
  assert.equal(m2.body.processed_data.voltage_current, 11);

  const m3 = await get(app, "/data?machine=m3");
  assert.equal(m3.status, 404);
  assert.deepEqual(m3.body, { success: false, error: "No processed data yet for m3" });
  const m9 = await get(app, "/data?machine=m9");
  assert.equal(m9.status, 404);
  assert.deepEqual(m9.body, { success: false, error: "Unknown machine: m9" });
});

Deno.test("GET /data, /status with no machine known yet: 404 JSON", async () => {
  const app = createApp(new EngineState());
  for (const path of ["/data", "/status"]) {
    const res = await get(app, path);
    assert.equal(res.status, 404, path);
    assert.equal(res.body.success, false);
    assert.match(res.body.error, /No machine known yet/);
  }
  const machines = await get(app, "/machines");
  assert.deepEqual(machines.body, { success: true, machines: [] });
});

// ---------------------------------------------------------------------------------------------
// GET /status

Deno.test("GET /status: latest reading, timestamp, temperature, speed, status first", async () => {
  const { app } = fleet();
  const res = await get(app, "/status");
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    success: true,
    data: { timestamp: iso(T0 + 2000), temperature: 72.5, speed: 1500, status: "RUNNING" },
  });
  assert.deepEqual(Object.keys(res.body.data), ["timestamp", "temperature", "speed", "status"]);
});

Deno.test("GET /status?machine=: other channels too, missing core channels null", async () => {
  const { app } = fleet();
  const m2 = await get(app, "/status?machine=m2");
  assert.deepEqual(m2.body, {
    success: true,
    data: { timestamp: iso(T0), temperature: 40, speed: null, status: "PAUSED", voltage: 5 },
  });
  const m3 = await get(app, "/status?machine=m3");
  assert.equal(m3.body.data.status, "COMPLETED");
  const m9 = await get(app, "/status?machine=m9");
  assert.equal(m9.status, 404);
  assert.deepEqual(m9.body, { success: false, error: "Unknown machine: m9" });
});

// ---------------------------------------------------------------------------------------------
// POST /status

Deno.test("POST /status: changes the machine through the controller; GET shows it", async () => {
  const { app, state, controller } = fleet();
  const res = await post(app, { status: "PAUSED" });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    success: true,
    data: { timestamp: iso(T0 + 200_000), temperature: 21.5, speed: 0, status: "PAUSED" },
  });
  assert.deepEqual(controller.calls, [["m1", "PAUSED"]]);
  assert.equal(state.machine("m1")!.status, "PAUSED");

  const after = await get(app, "/status");
  assert.equal(after.body.data.status, "PAUSED");
  const machines = await get(app, "/machines");
  assert.equal(machines.body.machines[0].status, "PAUSED");
  const data = await get(app, "/data");
  assert.equal(data.body.current_status, "PAUSED");
});

Deno.test("POST /status?machine=m3: the named machine of the fleet, others untouched", async () => {
  const { app, state, controller } = fleet();
  const res = await call(app, "POST", "/status?machine=m3", {
    json: { status: "STARTED" },
    headers: { "content-type": "application/json; charset=utf-8" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.data.status, "STARTED");
  assert.deepEqual(controller.calls, [["m3", "STARTED"]]);
  assert.equal(state.machine("m3")!.status, "STARTED");
  assert.equal(state.machine("m1")!.status, "RUNNING");
  assert.equal(state.machine("m2")!.status, "PAUSED");
});

/** One refused `POST /status`: what is sent, and the status and error expected back. */
interface BadCase {
  name: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  error: string | RegExp;
}

const JSON_TYPE = { "content-type": "application/json" };
const BAD_CASES: BadCase[] = [
  {
    name: "malformed JSON",
    body: '{"status": "PAUSED"',
    headers: JSON_TYPE,
    status: 400,
    error: /^Malformed JSON body: /,
  },
  {
    name: "empty body",
    body: "",
    headers: JSON_TYPE,
    status: 400,
    error: "Malformed JSON body: empty body",
  },
  {
    name: "no content type",
    body: '{"status": "PAUSED"}',
    status: 415,
    error: /Content-Type.*application\/json/,
  },
  {
    name: "wrong content type",
    body: '{"status": "PAUSED"}',
    headers: { "content-type": "text/plain" },
    status: 415,
    error: 'Unsupported Content-Type "text/plain": expected application/json',
  },
  {
    name: "JSON-looking but not JSON type",
    body: '{"status": "PAUSED"}',
    headers: { "content-type": "application/jsonx" },
    status: 415,
    error: /Unsupported Content-Type/,
  },
  {
    name: "missing status",
    body: "{}",
    headers: JSON_TYPE,
    status: 400,
    error: /^Missing field "status"; allowed: STARTED, RUNNING, PAUSED, COMPLETED, SHUTDOWN$/,
  },
  {
    name: "status not a string",
    body: '{"status": 3}',
    headers: JSON_TYPE,
    status: 400,
    error: 'Field "status" must be a string, got 3',
  },
  {
    name: "status null",
    body: '{"status": null}',
    headers: JSON_TYPE,
    status: 400,
    error: 'Field "status" must be a string, got null',
  },
  {
    name: "unknown status value",
    body: '{"status": "FLYING"}',
    headers: JSON_TYPE,
    status: 400,
    error: 'Unknown status "FLYING"; allowed: STARTED, RUNNING, PAUSED, COMPLETED, SHUTDOWN',
  },
  {
    name: "lower-case status",
    body: '{"status": "paused"}',
    headers: JSON_TYPE,
    status: 400,
    error: /^Unknown status "paused"/,
  },
  {
    name: "extra unknown field",
    body: '{"status": "PAUSED", "force": true}',
    headers: JSON_TYPE,
    status: 400,
    error: /^Unknown field\(s\): force/,
  },
  {
    name: "body is an array",
    body: '["PAUSED"]',
    headers: JSON_TYPE,
    status: 400,
    error: /must be a JSON object/,
  },
  {
    name: "body is a string",
    body: '"PAUSED"',
    headers: JSON_TYPE,
    status: 400,
    error: /must be a JSON object/,
  },
  {
    name: "invalid transition",
    path: "/status?machine=m3",
    body: '{"status": "PAUSED"}',
    headers: JSON_TYPE,
    status: 400,
    error: "Invalid status transition from COMPLETED to PAUSED",
  },
  {
    name: "transition to the same status",
    body: '{"status": "RUNNING"}',
    headers: JSON_TYPE,
    status: 400,
    error: "Invalid status transition from RUNNING to RUNNING",
  },
  {
    name: "unknown machine",
    path: "/status?machine=m9",
    body: '{"status": "PAUSED"}',
    headers: JSON_TYPE,
    status: 404,
    error: "Unknown machine: m9",
  },
  {
    name: "machine no controller drives",
    path: "/status?machine=m2",
    body: '{"status": "RUNNING"}',
    headers: JSON_TYPE,
    status: 409,
    error: /^Machine m2 is not controllable/,
  },
  {
    name: "17 KiB body",
    body: JSON.stringify({ status: "PAUSED", pad: "x".repeat(17 * 1024) }),
    headers: JSON_TYPE,
    status: 413,
    error: "Request body too large: the limit is 16384 bytes",
  },
  {
    name: "17 KiB body announced by Content-Length",
    body: JSON.stringify({ status: "PAUSED", pad: "x".repeat(17 * 1024) }),
    headers: { ...JSON_TYPE, "content-length": String(17 * 1024 + 30) },
    status: 413,
    error: "Request body too large: the limit is 16384 bytes",
  },
];

for (const bad of BAD_CASES) {
  Deno.test(`POST /status refused, state unchanged: ${bad.name} → ${bad.status}`, async () => {
    const { app, state, controller } = fleet();
    const snapshot = structuredClone(state.machines());
    const res = await call(app, "POST", bad.path ?? "/status", {
      body: bad.body,
      headers: bad.headers,
    });
    assert.equal(res.status, bad.status, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ["success", "error"]);
    assert.equal(res.body.success, false);
    if (typeof bad.error === "string") assert.equal(res.body.error, bad.error);
    else assert.match(res.body.error, bad.error);
    assert.equal(controller.calls.length, 0, "the controller was not called");
    assert.deepEqual(state.machines(), snapshot, "every machine unchanged");
    assert.equal(state.machine("m1")!.status, "RUNNING");
  });
}

Deno.test("POST /status: the body limit follows maxBodyBytes", async () => {
  const { app, controller } = fleet({ maxBodyBytes: 64 });
  const small = await post(app, { status: "PAUSED" });
  assert.equal(small.status, 200);
  const big = await post(app, { status: "PAUSED", pad: "x".repeat(64) });
  assert.equal(big.status, 413);
  assert.deepEqual(big.body, {
    success: false,
    error: "Request body too large: the limit is 64 bytes",
  });
  assert.equal(controller.calls.length, 1);
});

Deno.test("POST /status: a controller that throws a plain Error is a generic 500", async () => {
  const { app, state, logger } = fleet({ fail: new Error("serial port /dev/ttyS0 exploded") });
  const res = await post(app, { status: "PAUSED" });
  assert.equal(res.status, 500);
  assert.deepEqual(res.body, { success: false, error: "Internal server error" });
  assert.equal(state.machine("m1")!.status, "RUNNING");
  // The real cause goes to the log, not to the client.
  const logged = logger.entries.find((e) => e.level === "error");
  assert.ok(logged);
  assert.equal(logged.fields.path, "/status");
  assert.match(String(logged.fields.error), /serial port \/dev\/ttyS0 exploded/);
});

// ---------------------------------------------------------------------------------------------
// token

Deno.test("token: writes need the right bearer token, reads are open", async () => {
  const { app, state, controller, logger } = fleet({ token: "s3cret" });
  const post1 = (headers: Record<string, string>) =>
    call(app, "POST", "/status", { json: { status: "PAUSED" }, headers });

  const none = await post1({});
  assert.equal(none.status, 401);
  assert.equal(none.body.success, false);
  assert.match(none.body.error, /^Missing bearer token/);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);

  for (const auth of ["Bearer wrong", "Bearer s3cret2", "Bearer s3cre", "Basic s3cret", "s3cret"]) {
    const res = await post1({ authorization: auth });
    assert.equal(res.status, 401, auth);
    assert.equal(res.body.success, false);
  }
  assert.equal(controller.calls.length, 0);
  assert.equal(state.machine("m1")!.status, "RUNNING");
  // Refusals by middleware are logged with their real status too.
  assert.equal(logger.entries.filter((e) => e.fields.status === 401).length, 6);

  const ok = await post1({ authorization: "Bearer s3cret" });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.data.status, "PAUSED");

  for (const path of ["/status", "/data", "/machines", "/anomalies", "/health"]) {
    assert.equal((await get(app, path)).status, 200, path);
  }
  // Every write method is gated, even on routes that do not exist.
  for (const method of ["PUT", "PATCH", "DELETE"]) {
    assert.equal((await call(app, method, "/status")).status, 401, method);
  }
});

Deno.test("token: the check runs before the body is read, and before the content type", async () => {
  const { app } = fleet({ token: "s3cret" });
  const res = await call(app, "POST", "/status", {
    body: "x".repeat(17 * 1024),
    headers: { "content-type": "text/plain" },
  });
  assert.equal(res.status, 401);
});

// ---------------------------------------------------------------------------------------------
// Host and Origin: DNS rebinding and cross-site writes

const PORT = 8123;

Deno.test("served on loopback: a foreign Host is a 421 changing nothing, the loopback names pass", async () => {
  const { app, state, controller } = fleet({ served: { host: "127.0.0.1", port: PORT } });
  for (
    const host of ["evil.example.com", `evil.example.com:${PORT}`, "127.0.0.1:9999", "localhost"]
  ) {
    const read = await call(app, "GET", "/status", { headers: { host } });
    assert.equal(read.status, 421, host);
    assert.equal(read.body.success, false);
    assert.match(read.body.error, /DNS rebinding/);
    const write = await call(app, "POST", "/status", {
      json: { status: "PAUSED" },
      headers: { host },
    });
    assert.equal(write.status, 421, host);
  }
  assert.equal(controller.calls.length, 0);
  assert.equal(state.machine("m1")!.status, "RUNNING");
  for (
    const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`, `LOCALHOST:${PORT}`, `[::1]:${PORT}`]
  ) {
    assert.equal((await call(app, "GET", "/status", { headers: { host } })).status, 200, host);
  }
});

Deno.test("served: the port may come late (--port 0), allowedHosts adds names", async () => {
  let port = 0;
  const { app } = fleet({
    served: {
      host: "10.0.0.5",
      port: () => port,
      allowedHosts: ["vigil.local", "proxy.example:443"],
    },
  });
  port = PORT;
  const status = async (host: string) =>
    (await call(app, "GET", "/health", { headers: { host } })).status;
  assert.equal(await status(`10.0.0.5:${PORT}`), 200);
  assert.equal(await status(`vigil.local:${PORT}`), 200);
  assert.equal(await status("proxy.example:443"), 200);
  // Not loopback: the loopback names are not this server's.
  assert.equal(await status(`localhost:${PORT}`), 421);
  assert.equal(await status(`vigil.local:${PORT + 1}`), 421);
});

Deno.test("served on a wildcard address: any Host, unless allowedHosts is given", async () => {
  const open = fleet({ served: { host: "0.0.0.0", port: PORT } }).app;
  assert.equal(
    (await call(open, "GET", "/health", { headers: { host: "anything:1" } })).status,
    200,
  );
  const listed = fleet({ served: { host: "::", port: PORT, allowedHosts: ["vigil.local"] } }).app;
  assert.equal(
    (await call(listed, "GET", "/health", { headers: { host: "anything:1" } })).status,
    421,
  );
  assert.equal(
    (await call(listed, "GET", "/health", { headers: { host: `vigil.local:${PORT}` } })).status,
    200,
  );
});

Deno.test("served: a cross-origin write is a 403; same-origin and Origin-less writes pass", async () => {
  const { app, controller } = fleet({ served: { host: "127.0.0.1", port: PORT } });
  const host = `127.0.0.1:${PORT}`;
  const write = (method: string, origin?: string, status = "PAUSED") =>
    call(app, method, "/status", {
      json: { status },
      headers: origin === undefined ? { host } : { host, origin },
    });
  for (const origin of ["http://evil.example.com", `http://localhost:${PORT}`, "null", "::"]) {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const res = await write(method, origin);
      assert.equal(res.status, 403, `${method} ${origin}`);
      assert.match(res.body.error, /^Cross-origin write refused/);
    }
  }
  assert.equal(controller.calls.length, 0);
  // A read with a foreign Origin is no write: the browser's same-origin policy keeps its answer.
  const read = await call(app, "GET", "/status", {
    headers: { host, origin: "http://evil.example.com" },
  });
  assert.equal(read.status, 200);
  // The dashboard page's own POST (Origin is the page's), and curl's (no Origin).
  assert.equal((await write("POST", `http://${host}`)).status, 200);
  assert.equal((await write("POST", undefined, "RUNNING")).status, 200);
  assert.equal(controller.calls.length, 2);
});

Deno.test("createApp refuses an empty token and a bad maxBodyBytes", () => {
  const state = new EngineState();
  assert.throws(() => createApp(state, { token: "" }), RangeError);
  assert.throws(() => createApp(state, { maxBodyBytes: 0 }), RangeError);
  assert.throws(() => createApp(state, { maxBodyBytes: 1.5 }), RangeError);
  assert.throws(() => createApp(state, { maxQueryBytes: 0 }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// GET /machines, GET /health

Deno.test("GET /machines: every machine, sorted, with status, last reading time, channels", async () => {
  const { app, state } = fleet();
  state.recordRow(row("m4", 5)); // a machine known from a row only has no reading yet
  const res = await get(app, "/machines");
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    success: true,
    machines: [
      {
        id: "m1",
        status: "RUNNING",
        last_reading: iso(T0 + 2000),
        channels: { temperature: 72.5, speed: 1500 },
      },
      {
        id: "m2",
        status: "PAUSED",
        last_reading: iso(T0),
        channels: { temperature: 40, voltage: 5 },
      },
      {
        id: "m3",
        status: "COMPLETED",
        last_reading: iso(T0 + 2000),
        channels: { temperature: 30, speed: 0 },
      },
      { id: "m4", status: null, last_reading: null, channels: {} },
    ],
  });
});

Deno.test("GET /health: ok, sources and totals; degraded when a source failed", async () => {
  const { app, state } = fleet();
  const res = await get(app, "/health");
  assert.equal(res.status, 200);
  const { uptime_s, ...rest } = res.body;
  assert.equal(typeof uptime_s, "number");
  assert.ok(uptime_s >= 0 && uptime_s < 60);
  assert.deepEqual(rest, {
    success: true,
    status: "ok",
    sources: [{ name: "simulator", state: "running", readings: 4, errors: 0 }],
    sinks: [],
    totals: {
      readings: 4,
      rows: 2,
      anomalies: 4,
      errors: 0,
      out_of_order: 0,
      duplicate_timestamp: 0,
    },
  });

  state.setSource({ name: "serial", state: "error", readings: 0, errors: 1, detail: "ENOENT" });
  const degraded = await get(app, "/health");
  assert.equal(degraded.status, 200);
  assert.equal(degraded.body.status, "degraded");
  assert.equal(degraded.body.sources.length, 2);
});

// ---------------------------------------------------------------------------------------------
// GET /anomalies

Deno.test("GET /anomalies: every event, newest last, with its count", async () => {
  const { app } = fleet();
  const res = await get(app, "/anomalies");
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.body), ["success", "count", "anomalies"]);
  assert.equal(res.body.success, true);
  assert.equal(res.body.count, 4);
  assert.deepEqual(res.body.anomalies[0], {
    timestamp: iso(T0),
    machine: "m1",
    type: "THRESHOLD_BREACH_TEMP",
    severity: "CRITICAL",
    channel: "temperature",
    value: 95.5,
    threshold: 80,
    description: "THRESHOLD_BREACH_TEMP on m1",
  });
  assert.deepEqual(res.body.anomalies.map((a: AnomalyEvent) => a.timestamp), [
    iso(T0),
    iso(T0 + 2000),
    iso(T0 + 4000),
    iso(T0 + 6000),
  ]);
});

Deno.test("GET /anomalies: filters by machine, severity, type, since, limit", async () => {
  const { app } = fleet();
  const types = async (query: string) => {
    const res = await get(app, `/anomalies?${query}`);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.count, res.body.anomalies.length);
    return res.body.anomalies.map((a: AnomalyEvent) => `${a.machine}:${a.type}`);
  };
  assert.deepEqual(await types("machine=m2"), ["m2:RAPID_CHANGE_VOLTAGE"]);
  assert.deepEqual(await types("severity=WARNING"), [
    "m2:RAPID_CHANGE_VOLTAGE",
    "m1:THRESHOLD_BREACH_TEMP",
  ]);
  assert.deepEqual(await types("type=THRESHOLD_BREACH_TEMP&machine=m1&severity=CRITICAL"), [
    "m1:THRESHOLD_BREACH_TEMP",
  ]);
  assert.deepEqual(await types(`since=${T0 + 4000}`), [
    "m1:ZSCORE_SPEED",
    "m1:THRESHOLD_BREACH_TEMP",
  ]);
  assert.deepEqual(await types(`since=${iso(T0 + 4000)}`), [
    "m1:ZSCORE_SPEED",
    "m1:THRESHOLD_BREACH_TEMP",
  ]);
  // Without an offset an ISO time is UTC, like every time the engine writes.
  assert.deepEqual(await types("since=2026-01-01T00:00:06"), ["m1:THRESHOLD_BREACH_TEMP"]);
  assert.deepEqual(await types("since=2026-01-01T01:00:04%2B01:00"), [
    "m1:ZSCORE_SPEED",
    "m1:THRESHOLD_BREACH_TEMP",
  ]);
  assert.deepEqual(await types("since=2026-01-02"), []);
  // The newest `limit`, still newest last.
  assert.deepEqual(await types("limit=2"), ["m1:ZSCORE_SPEED", "m1:THRESHOLD_BREACH_TEMP"]);
  assert.deepEqual(await types("limit=1&machine=m2"), ["m2:RAPID_CHANGE_VOLTAGE"]);
  // Empty parameters are no filter at all.
  assert.equal((await types("since=&severity=&type=&machine=&limit=")).length, 4);
  assert.deepEqual(await types("type=NO_SUCH_TYPE"), []);
});

Deno.test("GET /anomalies: limit defaults to 100 and goes up to 10000", async () => {
  const state = new EngineState();
  state.recordReadings([reading("m1", 0, { temperature: 1 })]);
  state.recordAnomalies(
    Array.from({ length: 150 }, (_, i) => anomaly("m1", i, "ZSCORE_TEMP", "INFO")),
  );
  const app = createApp(state);
  const def = await get(app, "/anomalies");
  assert.equal(def.body.count, 100);
  assert.equal(def.body.anomalies[99].timestamp, iso(T0 + 149 * 2000));
  assert.equal((await get(app, "/anomalies?limit=10000")).body.count, 150);
});

Deno.test("GET /anomalies: a bad value is a 400 naming the parameter and value", async () => {
  const { app } = fleet();
  const cases: [string, number, RegExp][] = [
    ["severity=LOW", 400, /^Invalid severity "LOW": expected one of INFO, WARNING, CRITICAL$/],
    ["severity=critical", 400, /^Invalid severity "critical"/],
    ["limit=0", 400, /^Invalid limit "0": expected an integer from 1 to 10000$/],
    ["limit=10001", 400, /^Invalid limit "10001"/],
    ["limit=abc", 400, /^Invalid limit "abc"/],
    ["limit=2.5", 400, /^Invalid limit "2.5"/],
    ["limit=-3", 400, /^Invalid limit "-3"/],
    [
      "since=yesterday",
      400,
      /^Invalid since "yesterday": expected ISO 8601 or epoch milliseconds$/,
    ],
    ["since=May%201%202026", 400, /^Invalid since "May 1 2026"/],
    ["since=2026-13-45", 400, /^Invalid since "2026-13-45"/],
    ["since=2026-02-30T00:00:00Z", 400, /^Invalid since "2026-02-30T00:00:00Z"/],
    ["since=2026-01-01T25:00:00Z", 400, /^Invalid since "2026-01-01T25:00:00Z"/],
    ["type=" + "X".repeat(101), 400, /^Invalid type "X+": expected at most 100 characters$/],
    ["machine=m9", 404, /^Unknown machine: m9$/],
  ];
  for (const [query, status, error] of cases) {
    const res = await get(app, `/anomalies?${query}`);
    assert.equal(res.status, status, query);
    assert.equal(res.body.success, false);
    assert.match(res.body.error, error, query);
  }
  // Two bad values: both named.
  const both = await get(app, "/anomalies?severity=LOW&limit=0");
  assert.match(both.body.error, /severity "LOW".*; Invalid limit "0"/);
});

// ---------------------------------------------------------------------------------------------
// the app

Deno.test("unknown route: 404; a known route with another method: 405 JSON with Allow", async () => {
  const { app } = fleet();
  const res = await get(app, "/nope/deeper?x=1");
  assert.equal(res.status, 404);
  assert.deepEqual(res.body, { success: false, error: "Not found: GET /nope/deeper" });
  const cases: [string, string, string][] = [
    ["DELETE", "/status", "GET, HEAD, POST"],
    ["POST", "/machines", "GET, HEAD"],
    ["PUT", "/data", "GET, HEAD"],
    ["DELETE", "/anomalies", "GET, HEAD"],
    ["POST", "/health", "GET, HEAD"],
    ["POST", "/", "GET, HEAD"],
    ["DELETE", "/assets/app.js", "GET, HEAD"],
  ];
  for (const [method, path, allow] of cases) {
    const r = await app.request(path, { method });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers.get("allow"), allow, `${method} ${path}`);
    assert.deepEqual(await r.json(), {
      success: false,
      error: `Method ${method} not allowed on ${path}: use ${allow}`,
    });
  }
  // A right method on a path no route has stays a 404 (a missing asset, a deeper path).
  assert.equal((await app.request("/assets/nope.js")).status, 404);
  assert.equal((await app.request("/status/deeper", { method: "DELETE" })).status, 404);
});

Deno.test("/history and /analytics: an unknown machine is a 404 as everywhere, a listed one is not", async () => {
  const history = new HistoryStore({ path: ":memory:" });
  const { app } = fleet({ history });
  try {
    for (const path of ["/history", "/analytics"]) {
      const r = await get(app, `${path}?machine=nope&channel=temperature`);
      assert.equal(r.status, 404, path);
      assert.deepEqual(r.body, { success: false, error: "Unknown machine: nope" });
    }
    // m1 is listed by the engine and not yet stored (its readings reach the history a moment
    // later): an empty answer, not an unknown machine.
    const listed = await get(app, "/history?machine=m1&channel=temperature");
    assert.equal(listed.status, 200);
    assert.equal(listed.body.count, 0);
  } finally {
    history.close();
  }
});

Deno.test("a query string over 4 KiB is a JSON 414, whatever the route", async () => {
  const { app } = fleet();
  const long = "x".repeat(4097 - "machine=".length);
  for (const path of ["/status", "/anomalies", "/nope"]) {
    const r = await get(app, `${path}?machine=${long}`);
    assert.equal(r.status, 414, path);
    assert.deepEqual(r.body, {
      success: false,
      error: "Query string too long: 4097 bytes, the limit is 4096",
    });
  }
  // Exactly at the limit it is parsed (here: an unknown machine).
  assert.equal((await get(app, `/status?machine=${long.slice(1)}`)).status, 404);
});

Deno.test("request log: one entry per request with method, path, status, ms", async () => {
  const { app, logger } = fleet();
  await get(app, "/status?machine=m2");
  await get(app, "/nope");
  await post(app, { status: "FLYING" });
  const requests = logger.entries.filter((e) => e.msg === "request");
  assert.deepEqual(
    requests.map((e) => [e.level, e.fields.method, e.fields.path, e.fields.status]),
    [
      ["info", "GET", "/status", 200],
      ["info", "GET", "/nope", 404],
      ["info", "POST", "/status", 400],
    ],
  );
  for (const e of requests) assert.equal(typeof e.fields.ms, "number");
  // Expected (4xx) errors are not logged as errors.
  assert.equal(logger.entries.filter((e) => e.level === "error").length, 0);
});
