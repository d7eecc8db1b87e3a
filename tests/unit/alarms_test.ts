/**
 * Active alarms: `GET /alarms` in-process (`app.request()`) over a real `EngineState` fed the
 * way the pipeline feeds it (raise, update, clear, the heartbeat pair, the bound, filters,
 * errors), and a restart of a real run over a data directory showing the same alarms as before.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ActiveAlarm,
  type AnomalyEvent,
  type Batch,
  type Clock,
  EngineState,
  FILES,
  FileSource,
  Incidents,
  nullLogger,
  openRun,
  type Reading,
  type Severity,
} from "../../engine/mod.ts";
import { createApp } from "../../routes/mod.ts";
import { generateReadings } from "../../simulator/mod.ts";
import { AlarmList } from "../../web/alarms.js";
import { replayInto, writeInput } from "../fixtures/replay_into.ts";

const T0 = Date.UTC(2026, 0, 1);
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function event(
  s: number,
  type: string,
  severity: Severity,
  machine = "m1",
  channel: string | null = "temperature",
  value: number | null = 90 + s,
): AnomalyEvent {
  return {
    timestamp: iso(s),
    machine,
    type,
    severity,
    channel,
    value,
    threshold: 85,
    description: `${type} ${severity} at ${s}`,
  };
}

/** A state knowing `machines` (as readings make them known) and fed `events` in order. */
function stateWith(events: AnomalyEvent[], machines = ["m1", "m2"], alarmCapacity?: number) {
  const state = new EngineState({ alarmCapacity });
  state.recordReadings(
    machines.map((machine) => ({ timestamp: T0, machine, status: "RUNNING", channels: {} })),
  );
  state.recordAnomalies(events);
  return state;
}

// deno-lint-ignore no-explicit-any
async function getAlarms(state: EngineState, query = ""): Promise<{ status: number; body: any }> {
  const res = await createApp(state).request(`/alarms${query}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return { status: res.status, body: await res.json() };
}

const keys = (alarms: ActiveAlarm[]) => alarms.map((a) => `${a.machine} ${a.type} ${a.channel}`);

Deno.test("GET /alarms: a raise is one alarm with every field; nothing active is an empty list", async () => {
  assert.deepEqual((await getAlarms(stateWith([]))).body, {
    success: true,
    count: 0,
    evicted: 0,
    alarms: [],
  });
  const { status, body } = await getAlarms(stateWith([event(1, "ANOMALY_TEMP", "WARNING")]));
  assert.equal(status, 200);
  assert.deepEqual(body, {
    success: true,
    count: 1,
    evicted: 0,
    alarms: [{
      machine: "m1",
      type: "ANOMALY_TEMP",
      channel: "temperature",
      severity: "WARNING",
      raised_at: iso(1),
      last_at: iso(1),
      value: 91,
      threshold: 85,
      description: "ANOMALY_TEMP WARNING at 1",
      count: 1,
    }],
  });
});

Deno.test("GET /alarms: a raise of an active alarm updates it (last_at, count, value; the highest severity)", async () => {
  const state = stateWith([
    event(1, "ANOMALY_TEMP", "WARNING"),
    event(5, "ANOMALY_TEMP", "CRITICAL"),
    event(9, "ANOMALY_TEMP", "WARNING"),
  ]);
  const [a, ...rest] = (await getAlarms(state)).body.alarms;
  assert.deepEqual(rest, []);
  assert.equal(a.raised_at, iso(1));
  assert.equal(a.last_at, iso(9));
  assert.equal(a.count, 3);
  assert.equal(a.value, 99);
  assert.equal(a.description, "ANOMALY_TEMP WARNING at 9");
  assert.equal(a.severity, "CRITICAL", "a later WARNING must not lower the severity");
});

Deno.test("GET /alarms: an INFO of the same type, machine and channel clears; any other does not", async () => {
  const state = stateWith([
    event(1, "ANOMALY_TEMP", "WARNING"),
    event(2, "ANOMALY_TEMP", "WARNING", "m2"),
    event(3, "ANOMALY_TEMP", "WARNING", "m1", "speed"),
    // Not clears: another machine's, another channel's, another type's INFO.
    event(4, "ANOMALY_TEMP", "INFO", "m3"),
    event(5, "ANOMALY_TEMP", "INFO", "m1", "pressure"),
    event(6, "ZSCORE_TEMP", "INFO"),
  ]);
  assert.deepEqual(keys((await getAlarms(state)).body.alarms), [
    "m1 ANOMALY_TEMP temperature",
    "m2 ANOMALY_TEMP temperature",
    "m1 ANOMALY_TEMP speed",
  ]);
  state.recordAnomalies([event(7, "ANOMALY_TEMP", "INFO", "m1", "temperature", null)]);
  assert.deepEqual(keys((await getAlarms(state)).body.alarms), [
    "m2 ANOMALY_TEMP temperature",
    "m1 ANOMALY_TEMP speed",
  ]);
  // Raised again after its clear: a new alarm, counted from 1.
  state.recordAnomalies([event(8, "ANOMALY_TEMP", "WARNING")]);
  const again = (await getAlarms(state)).body.alarms.find((a: ActiveAlarm) =>
    a.machine === "m1" && a.channel === "temperature"
  );
  assert.equal(again.raised_at, iso(8));
  assert.equal(again.count, 1);
});

Deno.test("GET /alarms: HEARTBEAT_RESTORED clears HEARTBEAT_LOSS; DEVICE_STATUS INFO clears DEVICE_STATUS", async () => {
  const state = stateWith([
    event(1, "HEARTBEAT_LOSS", "CRITICAL", "m1", null, null),
    event(2, "DEVICE_STATUS", "WARNING", "m2", null, null),
    // A worse device state while the first is active: the same alarm, now CRITICAL.
    event(3, "DEVICE_STATUS", "CRITICAL", "m2", null, null),
  ]);
  const before = (await getAlarms(state)).body.alarms;
  assert.deepEqual(keys(before), ["m1 HEARTBEAT_LOSS null", "m2 DEVICE_STATUS null"]);
  assert.equal(before[1].severity, "CRITICAL");
  assert.equal(before[1].count, 2);
  state.recordAnomalies([event(4, "HEARTBEAT_RESTORED", "INFO", "m1", null, 3)]);
  assert.deepEqual(keys((await getAlarms(state)).body.alarms), ["m2 DEVICE_STATUS null"]);
  state.recordAnomalies([event(5, "DEVICE_STATUS", "INFO", "m2", null, null)]);
  assert.deepEqual((await getAlarms(state)).body.alarms, []);
});

Deno.test("GET /alarms: sorted CRITICAL first, then by raised_at", async () => {
  const state = stateWith([
    event(1, "ZSCORE_TEMP", "WARNING"),
    event(2, "THRESHOLD_BREACH_TEMP", "CRITICAL", "m2"),
    event(3, "RAPID_CHANGE_SPEED", "WARNING", "m2", "speed"),
    event(4, "HEARTBEAT_LOSS", "CRITICAL", "m1", null),
    // An update keeps raised_at: this alarm stays first of the warnings.
    event(5, "ZSCORE_TEMP", "WARNING"),
  ]);
  const { alarms } = (await getAlarms(state)).body;
  assert.deepEqual(keys(alarms), [
    "m2 THRESHOLD_BREACH_TEMP temperature",
    "m1 HEARTBEAT_LOSS null",
    "m1 ZSCORE_TEMP temperature",
    "m2 RAPID_CHANGE_SPEED speed",
  ]);
});

Deno.test("GET /alarms: bounded; a full map evicts the alarm raised least recently, and counts it", async () => {
  const events = [
    event(1, "A", "WARNING"),
    event(2, "B", "WARNING"),
    event(3, "C", "WARNING"),
    event(4, "A", "WARNING"), // A is now the most recently raised: B goes first.
    event(5, "D", "WARNING"),
    event(6, "E", "WARNING"),
  ];
  const state = stateWith(events, ["m1"], 3);
  const { body } = await getAlarms(state);
  assert.equal(body.count, 3);
  assert.equal(body.evicted, 2);
  assert.deepEqual(body.alarms.map((a: ActiveAlarm) => a.type), ["A", "D", "E"]);
  assert.throws(() => new EngineState({ alarmCapacity: 0 }), /alarm capacity .* got 0/);
  // The default bound.
  const big = new EngineState();
  big.recordAnomalies(
    Array.from({ length: 10_005 }, (_, i) => event(i, `T${i}`, "WARNING")),
  );
  assert.equal(big.alarms().length, 10_000);
  assert.equal(big.alarmsEvicted, 5);
});

Deno.test('GET /alarms: alarms are told apart by machine, type and channel (null is not "null"); evicting a machine\'s only alarm keeps its next one', async () => {
  const state = stateWith([
    event(1, "A", "WARNING", "m1", null),
    event(2, "A", "WARNING", "m1", "null"),
    event(3, "A", "WARNING", "m2", null),
    event(4, "A_null", "WARNING", "m1", null),
    event(5, "A", "INFO", "m1", null),
  ]);
  assert.deepEqual(keys((await getAlarms(state)).body.alarms), [
    "m1 A null",
    "m2 A null",
    "m1 A_null null",
  ]);
  // Capacity 1: B evicts A, m1's only alarm; B is then m1's alarm as any other (updated,
  // cleared), not left beside the machine's alarms.
  const one = stateWith([event(1, "A", "WARNING"), event(2, "B", "WARNING")], ["m1"], 1);
  assert.deepEqual(keys(one.alarms()), ["m1 B temperature"]);
  one.recordAnomalies([event(3, "B", "CRITICAL")]);
  assert.deepEqual(one.alarms().map((a) => [a.type, a.count, a.severity]), [["B", 2, "CRITICAL"]]);
  one.recordAnomalies([event(4, "B", "INFO")]);
  assert.deepEqual(one.alarms(), []);
  assert.equal(one.alarmsEvicted, 1);
});

Deno.test("GET /alarms: ?machine= and ?severity= filter; empty values mean no filter", async () => {
  const state = stateWith([
    event(1, "ZSCORE_TEMP", "WARNING"),
    event(2, "THRESHOLD_BREACH_TEMP", "CRITICAL", "m2"),
    event(3, "RAPID_CHANGE_SPEED", "WARNING", "m2", "speed"),
  ]);
  const m2 = (await getAlarms(state, "?machine=m2")).body;
  assert.equal(m2.count, 2);
  assert.deepEqual(keys(m2.alarms), [
    "m2 THRESHOLD_BREACH_TEMP temperature",
    "m2 RAPID_CHANGE_SPEED speed",
  ]);
  assert.deepEqual(
    keys((await getAlarms(state, "?severity=WARNING")).body.alarms),
    ["m1 ZSCORE_TEMP temperature", "m2 RAPID_CHANGE_SPEED speed"],
  );
  assert.deepEqual(
    keys((await getAlarms(state, "?machine=m2&severity=CRITICAL")).body.alarms),
    ["m2 THRESHOLD_BREACH_TEMP temperature"],
  );
  assert.equal((await getAlarms(state, "?machine=m1&severity=CRITICAL")).body.count, 0);
  assert.equal((await getAlarms(state, "?machine=&severity=")).body.count, 3);
});

Deno.test("GET /alarms: an unknown machine is a 404, a bad severity a 400, both JSON; state unchanged", async () => {
  const state = stateWith([event(1, "ZSCORE_TEMP", "WARNING")]);
  assert.deepEqual(await getAlarms(state, "?machine=m9"), {
    status: 404,
    body: { success: false, error: "Unknown machine: m9" },
  });
  assert.deepEqual(await getAlarms(state, "?severity=INFO"), {
    status: 400,
    body: {
      success: false,
      error: 'Invalid severity "INFO": expected one of WARNING, CRITICAL',
    },
  });
  const long = await getAlarms(state, `?machine=${"x".repeat(201)}`);
  assert.equal(long.status, 400);
  assert.match(long.body.error, /^Invalid machine "x+": expected at most 200 characters$/);
  assert.equal((await getAlarms(state)).body.count, 1);
});

Deno.test("GET /alarms?group=incident: the active alarms by incident; a bad group is a 400", async () => {
  const incidents = new Incidents({ windowMs: 0 });
  const events = [
    event(1, "ANOMALY_TEMP", "WARNING"),
    event(2, "ANOMALY_SPEED", "CRITICAL", "m1", "speed"),
    event(3, "ANOMALY_TEMP", "WARNING", "m2"),
    event(4, "ANOMALY_TEMP", "INFO"),
  ].map((e) => incidents.label(e));
  const state = stateWith(events);
  const plain = await getAlarms(state);
  // The speed alarm joined the temperature alarm's incident, and keeps it after that cleared.
  assert.deepEqual(plain.body.alarms.map((a: ActiveAlarm) => a.incident), [
    `m1@${iso(1)}`,
    `m2@${iso(3)}`,
  ]);
  // The dashboard's copy keeps the incident as the engine does.
  const page = new AlarmList();
  for (const e of events) page.apply(e);
  assert.deepEqual(page.sorted(), plain.body.alarms);
  const { status, body } = await getAlarms(state, "?group=incident");
  assert.equal(status, 200);
  assert.deepEqual(
    { ...body, incidents: body.incidents.map((g: { alarms: ActiveAlarm[] }) => g.alarms.length) },
    { success: true, count: 2, evicted: 0, incidents: [1, 1] },
  );
  const [first] = body.incidents;
  assert.deepEqual({ ...first, alarms: undefined }, {
    incident: `m1@${iso(1)}`,
    machine: "m1",
    severity: "CRITICAL",
    raised_at: iso(2),
    last_at: iso(2),
    alarms: undefined,
  });
  assert.equal((await getAlarms(state, "?group=incident&machine=m2")).body.count, 1);
  assert.deepEqual(await getAlarms(state, "?group=machine"), {
    status: 400,
    body: { success: false, error: 'Invalid group "machine": expected incident' },
  });
});

// ---------------------------------------------------------------------------------------------
// Restart

/** A temporary directory with `<dir>/input.jsonl` of simulated readings (faults at 0.05). */
async function withInput(
  machines: number,
  seed: number,
  count: number,
  fn: (tmp: string, input: string) => Promise<void>,
) {
  const tmp = await Deno.makeTempDir();
  try {
    const readings = generateReadings({
      machines,
      seed,
      count,
      start: T0,
      intervalMs: 2000,
      faultRate: 0.05,
    });
    await fn(tmp, await writeInput(tmp, readings));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("restart: a replay resumed from its checkpoint shows the same active alarms", () =>
  withInput(4, 3, 4000, async (tmp, input) => {
    const dir = join(tmp, "d");
    // The z-score detector re-raises an active alarm (seed-002 semantics), which exercises the
    // count of raises that the rebuild must get right too.
    const options = { detector: "zscore" as const };
    const before = (await replayInto(dir, input, options)).state.alarms();
    assert.ok(before.length > 0, "no alarm raised: the check below would be vacuous");
    assert.ok(before.some((a) => a.count > 1), "no alarm raised twice");
    // Everything is history now: the alarms come back from anomalies.jsonl, once each.
    const after = (await replayInto(dir, input, options)).state;
    assert.deepEqual(after.alarms(), before);
    assert.ok(after.anomalies().length > 0, "the re-run still fills /anomalies");
  }));

Deno.test("restart: the history re-run's events in /anomalies carry the incidents they were written with", () =>
  withInput(3, 5, 3000, async (tmp, input) => {
    const dir = join(tmp, "d");
    const before = (await replayInto(dir, input)).state;
    assert.ok(before.anomalies({ limit: 10_000 }).some((e) => typeof e.incident === "string"));
    // Everything is history now: the same events, labelled by the history's own grouper, and the
    // active alarms (with their incidents) rebuilt from anomalies.jsonl.
    const after = (await replayInto(dir, input)).state;
    assert.deepEqual(after.anomalies({ limit: 10_000 }), before.anomalies({ limit: 10_000 }));
    assert.deepEqual(after.alarms(), before.alarms());
  }));

Deno.test("restart: a heartbeat loss a timer raised (no reading re-raises it) is still active after a restart", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const readings = Array.from({ length: 5 }, (_, i): Reading => ({
      timestamp: T0 + i * 1000,
      machine: "d1",
      status: "NORMAL",
      channels: { temperature: 25 },
    }));
    const input = await writeInput(tmp, readings);
    const dir = join(tmp, "d");
    let now = T0;
    const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const state = new EngineState();
    const options = {
      dataDir: dir,
      source: `file:${input}`,
      streamDerived: true,
      logger: nullLogger,
      profile: "device" as const,
      heartbeatTimeoutMs: 5000,
    };
    const run = await openRun({ ...options, state, heartbeatClock: clock });
    // The readings, then a tick 10 s later: the timer finds the silence.
    const batches: Batch[] = [
      { readings, errors: [], lines: readings.length, suppress: false, log: true },
      { readings: [], errors: [], lines: 0, suppress: false, log: true },
    ];
    await run.run(
      new ReadableStream<Batch>({
        pull(controller) {
          const b = batches.shift();
          if (!b) return controller.close();
          if (b.readings.length === 0) now = T0 + 14_000;
          controller.enqueue(b);
        },
      }),
    );
    const before = state.alarms();
    assert.deepEqual(before.map((a) => `${a.machine} ${a.type}`), ["d1 HEARTBEAT_LOSS"]);
    assert.match(await Deno.readTextFile(join(dir, FILES.anomalies)), /HEARTBEAT_LOSS/);

    // The restart re-reads the readings as history: no gap in them, so the analyzer raises no
    // loss; the alarm must come from what was written.
    const after = new EngineState();
    const again = await openRun({ ...options, state: after });
    assert.equal(again.resumeLines, 5);
    await again.run(new FileSource(input, { format: "json", suppressLines: 5 }).readable);
    assert.deepEqual(after.alarms(), before);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("restart: lines of anomalies.jsonl that are not events are logged and skipped, never fatal", () =>
  withInput(2, 5, 2000, async (tmp, input) => {
    const dir = join(tmp, "d");
    assert.ok((await replayInto(dir, input)).state.alarms().length > 0);
    // Damage one line without changing the file's size (the checkpoint keeps it whole).
    const path = join(dir, FILES.anomalies);
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines[1] = "x".repeat(lines[1]!.length);
    await Deno.writeTextFile(path, lines.join("\n"));
    const warned: string[] = [];
    const logger = {
      ...nullLogger,
      warn: (msg: string, fields?: unknown) => warned.push(`${msg} ${JSON.stringify(fields)}`),
    };
    const { state } = await replayInto(dir, input, { logger });
    assert.equal(warned.length, 1, warned.join("\n"));
    assert.match(warned[0]!, /^not an anomaly event, skipped restoring alarms .*"line":2,/);
    // The other lines still count: what the damaged line raised is the only possible loss.
    assert.ok(state.alarms().length > 0);
  }));

Deno.test("the dashboard's AlarmList applies events as the engine does; events the answer held change nothing", async () => {
  const events = [
    event(1, "ZSCORE_TEMP", "WARNING"),
    event(2, "THRESHOLD_BREACH_TEMP", "CRITICAL", "m2"),
    event(3, "ZSCORE_TEMP", "CRITICAL"),
    event(4, "HEARTBEAT_LOSS", "CRITICAL", "m1", null, null),
    event(5, "THRESHOLD_BREACH_TEMP", "INFO", "m2"),
    event(6, "RAPID_CHANGE_SPEED", "WARNING", "m2", "speed"),
    event(7, "HEARTBEAT_RESTORED", "INFO", "m1", null, 3),
    event(8, "ZSCORE_TEMP", "WARNING"),
  ];
  const page = new AlarmList();
  for (const e of events) page.apply(e);
  const state = stateWith(events);
  const answer = (await getAlarms(state)).body;
  assert.deepEqual(page.sorted(), answer.alarms);
  assert.equal(page.total, answer.count);
  // /alarms read after these events came: applying them again to its answer (in order, as the
  // page does with the events that came while it was read) leaves the answer.
  const again = new AlarmList();
  again.replace(answer);
  for (const e of events) again.apply(e);
  assert.deepEqual(again.sorted(), answer.alarms);
  assert.equal(again.total, answer.count);
  // Bounded: past the cap the list keeps the first in the engine's order, and counts them all.
  const small = new AlarmList(2);
  for (const e of events) small.apply(e);
  assert.deepEqual(small.sorted(), answer.alarms.slice(0, 2));
  // Past the cap the page cannot see the clear of an alarm it dropped: its total is the
  // engine's again at the next answer.
  small.replace({ ...answer, alarms: answer.alarms });
  assert.deepEqual(small.sorted(), answer.alarms.slice(0, 2));
  assert.equal(small.total, answer.count);
});
