import assert from "node:assert/strict";
import {
  type AnomalyEvent,
  EngineState,
  groupByIncident,
  Incidents,
  type Severity,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

/** An event `s` seconds after T0. */
function ev(
  s: number,
  type: string,
  severity: Severity,
  channel: string | null = "temperature",
  machine = "m1",
): AnomalyEvent {
  return {
    timestamp: new Date(T0 + s * 1000).toISOString(),
    machine,
    type,
    severity,
    channel,
    value: null,
    threshold: null,
    description: "",
  };
}

const id = (machine: string, s: number) => `${machine}@${new Date(T0 + s * 1000).toISOString()}`;

Deno.test("incidents: alarms raised while another is active share the first one's id", () => {
  const inc = new Incidents({ windowMs: 0 });
  assert.equal(inc.assign(ev(0, "ANOMALY_TEMP", "WARNING")), id("m1", 0));
  assert.equal(inc.assign(ev(100, "ANOMALY_SPEED", "CRITICAL", "speed")), id("m1", 0));
  // A raise again of an active alarm (an escalation) stays in it.
  assert.equal(inc.assign(ev(110, "ANOMALY_SPEED", "CRITICAL", "speed")), id("m1", 0));
  // The first clears: the incident lives on while the speed alarm is active.
  assert.equal(inc.assign(ev(120, "ANOMALY_TEMP", "INFO")), id("m1", 0));
  assert.equal(inc.assign(ev(130, "RAPID_CHANGE_TEMP", "WARNING")), id("m1", 0));
  assert.equal(inc.assign(ev(140, "RAPID_CHANGE_TEMP", "INFO")), id("m1", 0));
  assert.equal(inc.assign(ev(150, "ANOMALY_SPEED", "INFO", "speed")), id("m1", 0));
  // All cleared: the next alarm opens a new incident.
  assert.equal(inc.assign(ev(151, "ANOMALY_TEMP", "WARNING")), id("m1", 151));
  // Machines are apart.
  assert.equal(inc.assign(ev(152, "ANOMALY_TEMP", "WARNING", "temperature", "m2")), id("m2", 152));
});

Deno.test("incidents: a raise within the window of the first joins even after all cleared", () => {
  const inc = new Incidents({ windowMs: 60_000 });
  assert.equal(inc.assign(ev(0, "ANOMALY_TEMP", "WARNING")), id("m1", 0));
  assert.equal(inc.assign(ev(20, "ANOMALY_TEMP", "INFO")), id("m1", 0));
  // Flapping, and a second symptom a moment later: the same incident.
  assert.equal(inc.assign(ev(40, "ANOMALY_TEMP", "WARNING")), id("m1", 0));
  assert.equal(inc.assign(ev(50, "ANOMALY_TEMP", "INFO")), id("m1", 0));
  assert.equal(inc.assign(ev(60, "ANOMALY_SPEED", "WARNING", "speed")), id("m1", 0));
  assert.equal(inc.assign(ev(61, "ANOMALY_SPEED", "INFO", "speed")), id("m1", 0));
  // Past the window and nothing active: a new one.
  assert.equal(inc.assign(ev(61.001, "ANOMALY_SPEED", "WARNING", "speed")), id("m1", 61.001));
  // Out of order (older than the opening raise): joins, so no id is ever reused.
  assert.equal(inc.assign(ev(61.001, "ANOMALY_SPEED", "INFO", "speed")), id("m1", 61.001));
  assert.equal(inc.assign(ev(-5, "ANOMALY_TEMP", "WARNING")), id("m1", 61.001));
});

Deno.test("incidents: a clear of no known alarm has none; the heartbeat pair is one alarm", () => {
  const inc = new Incidents();
  assert.equal(inc.assign(ev(0, "DEVICE_STATUS", "INFO", null)), null);
  assert.equal(inc.assign(ev(1, "HEARTBEAT_LOSS", "CRITICAL", null)), id("m1", 1));
  assert.equal(inc.assign(ev(9, "HEARTBEAT_RESTORED", "INFO", null)), id("m1", 1));
  // Already cleared: a second restore clears nothing.
  assert.equal(inc.assign(ev(10, "HEARTBEAT_RESTORED", "INFO", null)), null);
  // label: the incident as the last field, the event otherwise untouched.
  const labelled = inc.label(ev(11, "ANOMALY_TEMP", "WARNING"));
  assert.deepEqual(Object.keys(labelled).at(-1), "incident");
  assert.equal(labelled.incident, id("m1", 1));
});

Deno.test("incidents: bounded by capacity; bad options are RangeErrors naming the value", () => {
  const inc = new Incidents({ windowMs: 0, capacity: 2 });
  inc.assign(ev(0, "ANOMALY_TEMP", "WARNING", "temperature", "a"));
  inc.assign(ev(1, "ANOMALY_TEMP", "WARNING", "temperature", "b"));
  inc.assign(ev(2, "ANOMALY_TEMP", "WARNING", "temperature", "c")); // forgets a
  assert.equal(inc.assign(ev(3, "ANOMALY_TEMP", "INFO", "temperature", "a")), null);
  assert.equal(inc.assign(ev(4, "ANOMALY_TEMP", "INFO", "temperature", "c")), id("c", 2));
  assert.throws(() => new Incidents({ windowMs: -1 }), /incident window .* got -1/);
  assert.throws(() => new Incidents({ windowMs: NaN }), /got NaN/);
  assert.throws(() => new Incidents({ capacity: 0 }), /incident capacity .* got 0/);
});

Deno.test("incidents: the machine forgotten at capacity is the one whose latest event is oldest, however its events came", () => {
  const inc = new Incidents({ windowMs: 0, capacity: 2 });
  inc.assign(ev(0, "ANOMALY_TEMP", "WARNING", "temperature", "a"));
  inc.assign(ev(1, "ANOMALY_TEMP", "WARNING", "temperature", "b"));
  // a's events twice in a row: a is the latest, b the oldest.
  inc.assign(ev(2, "ANOMALY_SPEED", "WARNING", "speed", "a"));
  inc.assign(ev(3, "ANOMALY_SPEED", "INFO", "speed", "a"));
  inc.assign(ev(4, "ANOMALY_TEMP", "WARNING", "temperature", "c")); // forgets b
  assert.equal(inc.assign(ev(5, "ANOMALY_TEMP", "INFO", "temperature", "b")), null);
  assert.equal(inc.assign(ev(6, "ANOMALY_TEMP", "INFO", "temperature", "a")), id("a", 0));
  // a's incident closed (window 0): its next raise opens a new one, the latest entry; then c
  // is the oldest.
  assert.equal(inc.assign(ev(7, "ANOMALY_TEMP", "WARNING", "temperature", "a")), id("a", 7));
  inc.assign(ev(8, "ANOMALY_TEMP", "WARNING", "temperature", "d")); // forgets c
  assert.equal(inc.assign(ev(9, "ANOMALY_TEMP", "INFO", "temperature", "c")), null);
  assert.equal(inc.assign(ev(10, "ANOMALY_TEMP", "INFO", "temperature", "a")), id("a", 7));
  // A machine's event after another machine opened an incident makes it the latest again: b
  // opens and gets a second event, a opens (the latest), b joins (now b is), c comes and
  // forgets a, not b.
  const order = new Incidents({ windowMs: 60_000, capacity: 2 });
  order.assign(ev(0, "ANOMALY_TEMP", "WARNING", "temperature", "b"));
  order.assign(ev(1, "ANOMALY_SPEED", "WARNING", "speed", "b"));
  order.assign(ev(2, "ANOMALY_TEMP", "WARNING", "temperature", "a"));
  assert.equal(order.assign(ev(3, "ANOMALY_VOLT", "WARNING", "voltage", "b")), id("b", 0));
  order.assign(ev(4, "ANOMALY_TEMP", "WARNING", "temperature", "c")); // forgets a
  assert.equal(order.assign(ev(5, "ANOMALY_TEMP", "INFO", "temperature", "b")), id("b", 0));
  assert.equal(order.assign(ev(6, "ANOMALY_TEMP", "INFO", "temperature", "a")), null);
  // A type and a channel are told apart as a pair: null is not "null".
  const pair = new Incidents({ windowMs: 0 });
  pair.assign(ev(0, "A", "WARNING", null));
  assert.equal(pair.assign(ev(1, "A", "INFO", "null")), null);
  assert.equal(pair.assign(ev(2, "A", "INFO", null)), id("m1", 0));
});

Deno.test("incidents: rebuilt from the events written so far, a run goes on as if never stopped", () => {
  // A pseudo-random stream of raises and clears on 3 machines × 4 alarms.
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const events: AnomalyEvent[] = [];
  for (let i = 0; i < 2000; i++) {
    const channel = ["a", "b", "c", "d"][Math.floor(rand() * 4)]!;
    const severity: Severity = rand() < 0.45 ? "WARNING" : "INFO";
    events.push(ev(i * 7, `ANOMALY_${channel}`, severity, channel, `m${Math.floor(rand() * 3)}`));
  }
  const whole = new Incidents();
  const expected = events.map((e) => whole.label(e));
  assert.ok(new Set(expected.map((e) => e.incident)).size > 20);
  for (const cut of [1, 500, 1333]) {
    // The restart: what was written up to the cut, assigned again (its labels ignored).
    const restored = new Incidents();
    for (const e of expected.slice(0, cut)) restored.assign(e);
    assert.deepEqual(events.slice(cut).map((e) => restored.label(e)), expected.slice(cut));
  }
});

Deno.test("groupByIncident: the active alarms by incident, in the engine's order", () => {
  const state = new EngineState();
  const inc = new Incidents({ windowMs: 0 });
  state.recordAnomalies(
    [
      ev(0, "ANOMALY_TEMP", "WARNING"),
      ev(5, "ANOMALY_SPEED", "CRITICAL", "speed"),
      ev(6, "ANOMALY_TEMP", "WARNING", "temperature", "m2"),
      ev(7, "ANOMALY_SPEED", "WARNING", "speed", "m2"),
    ].map((e) => inc.label(e)),
  );
  const groups = groupByIncident(state.alarms());
  assert.deepEqual(
    groups.map((g) => [g.incident, g.severity, g.raised_at, g.last_at, g.alarms.length]),
    [
      [id("m1", 0), "CRITICAL", ev(0, "", "INFO").timestamp, ev(5, "", "INFO").timestamp, 2],
      [id("m2", 6), "WARNING", ev(6, "", "INFO").timestamp, ev(7, "", "INFO").timestamp, 2],
    ],
  );
  assert.equal(state.alarms()[0]!.incident, id("m1", 0));
  // Without incidents (`--detector zscore`): no field, each alarm alone.
  const plain = new EngineState();
  plain.recordAnomalies([ev(0, "A", "WARNING"), ev(1, "B", "WARNING")]);
  assert.ok(!("incident" in plain.alarms()[0]!));
  assert.deepEqual(groupByIncident(plain.alarms()).map((g) => g.incident), [null, null]);
});
