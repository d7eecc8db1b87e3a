import assert from "node:assert/strict";
import { createApp } from "../../routes/mod.ts";
import { MachineSimulator, SimulatorSource } from "../../simulator/mod.ts";
import {
  Analyzer,
  ControlUnavailableError,
  EngineControl,
  EngineState,
  type Reading,
  ReferenceKernel,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

function setup() {
  const simulator = new MachineSimulator({ machines: 1, seed: 1 });
  const analyzer = new Analyzer(new ReferenceKernel({ modelSize: 10 }));
  const source = { paused: false };
  const control = new EngineControl({
    setZThreshold: (z) => analyzer.setZThreshold(z),
    setModelSize: (n) =>
      analyzer.replaceKernel(new ReferenceKernel({ modelSize: n, zThreshold: 99 })),
    zThreshold: 3,
    simulator,
    source,
    modelSize: 10,
    window: 5,
  });
  const app = createApp(new EngineState(), { control });
  const post = (body: unknown) =>
    app.request("/control", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  return { simulator, analyzer, source, control, app, post };
}

Deno.test("GET /control shows the live settings", async () => {
  const { app } = setup();
  const res = await app.request("/control");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    success: true,
    data: {
      running: true,
      z_threshold: 3,
      anomaly_level: 0,
      fault_rate: 0.01,
      model_size: 10,
      window: 5,
    },
  });
});

Deno.test("POST /control applies each setting at once", async () => {
  const { simulator, source, post } = setup();
  const res = await post({ running: false, z_threshold: 2.5, anomaly_level: 0.8, fault_rate: 0 });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).data, {
    running: false,
    z_threshold: 2.5,
    anomaly_level: 0.8,
    fault_rate: 0,
    model_size: 10,
    window: 5,
  });
  assert.equal(source.paused, true);
  assert.equal(simulator.anomalyLevel, 0.8);
  assert.equal(simulator.faultRate, 0);
});

Deno.test("the z threshold set through /control changes what the detector flags", async () => {
  const { analyzer, post } = setup();
  const steady = (i: number, t: number): Reading => ({
    timestamp: T0 + i * 1000,
    machine: "m1",
    status: "RUNNING",
    channels: { temperature: t },
  });
  // Ten points around 25 fill the model (mean 25, std 0.5): 26.4 is z = 2.8, not flagged at 3,
  // and enters the model (mean 25.19, std 0.62), after which 26.5 is z = 2.1.
  const warm = Array.from({ length: 10 }, (_, i) => steady(i, 25 + (i % 2 ? 0.5 : -0.5)));
  analyzer.analyze(warm);
  const probe = [steady(20, 26.4)];
  const before = analyzer.analyze(probe).events.filter((e) => e.event.type === "ZSCORE_TEMP");
  assert.equal(before.length, 0);
  assert.equal((await post({ z_threshold: 2 })).status, 200);
  const after = analyzer.analyze([steady(21, 26.5)]).events.filter((e) =>
    e.event.type === "ZSCORE_TEMP"
  );
  assert.equal(after.length, 1);
  assert.equal(after[0]!.event.threshold, 2);
});

Deno.test("model_size through /control restarts every model with the new size", async () => {
  const { analyzer, post, control } = setup();
  const at = (i: number, t: number): Reading => ({
    timestamp: T0 + i * 1000,
    machine: "m1",
    status: "RUNNING",
    channels: { temperature: t },
  });
  const alternating = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => at(from + i, 25 + (i % 2 ? 0.5 : -0.5)));
  analyzer.analyze(alternating(0, 10)); // the 10-point model is full
  assert.equal(
    analyzer.analyze([at(10, 30)]).events.some((e) => e.event.type === "ZSCORE_TEMP"),
    true,
  );

  const res = await post({ model_size: 20 });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).data.model_size, 20);
  assert.equal(control.get().model_size, 20);
  // The model starts empty: while its 20 points gather, nothing is flagged, however far off.
  const filling = analyzer.analyze([...alternating(11, 19), at(30, 30)]);
  assert.equal(filling.events.some((e) => e.event.type === "ZSCORE_TEMP"), false);
  // Full again (20 points, one of them 30): an outlier is flagged, at the threshold kept from
  // before (3), not the new kernel's own default.
  const full = analyzer.analyze([at(31, 40)]).events.filter((e) => e.event.type === "ZSCORE_TEMP");
  assert.equal(full.length, 1);
  assert.equal(full[0]!.event.threshold, 3);
  assert.throws(
    () => analyzer.replaceKernel(new ReferenceKernel({ window: 7 })),
    /replaceKernel: window 7 differs from 5/,
  );
});

Deno.test("bad /control requests are 4xx JSON and change nothing", async () => {
  const { control, post, app } = setup();
  const before = control.get();
  const cases: [unknown, number, RegExp][] = [
    [{ z_threshold: 0 }, 400, /^Invalid z_threshold 0/],
    [{ z_threshold: "3" }, 400, /^Invalid z_threshold "3"/],
    [{ anomaly_level: 1.5 }, 400, /^Invalid anomaly_level 1\.5/],
    [{ running: "yes" }, 400, /^Invalid running "yes"/],
    [{ model_size: 2.5 }, 400, /^Invalid model_size 2\.5/],
    [{ model_size: 1 }, 400, /^Invalid model_size 1/],
    [{ colour: "red" }, 400, /^Unknown field\(s\): colour/],
    [{}, 400, /^Nothing to change/],
    [[1], 400, /must be a JSON object/],
    // z_threshold is valid but the whole patch is refused with the bad field.
    [{ z_threshold: 2, fault_rate: -1 }, 400, /^Invalid fault_rate -1/],
  ];
  for (const [body, status, re] of cases) {
    const res = await post(body);
    const json = await res.json();
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(json.success, false);
    assert.match(json.error, re);
  }
  // JSON.parse reads 1e400 as Infinity: a type error, as the zod schema said, not a bound.
  for (
    const [body, re] of [
      ['{"z_threshold":1e400}', /expected number, received Infinity$/],
      ['{"anomaly_level":-1e400}', /expected number, received -Infinity$/],
      ['{"model_size":1e400}', /expected number, received Infinity$/],
    ] as const
  ) {
    const res = await app.request("/control", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(res.status, 400, body);
    assert.match((await res.json()).error, re, body);
  }
  const text = await app.request("/control", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  assert.equal(text.status, 415);
  assert.deepEqual(control.get(), before);
});

Deno.test("a knob this engine does not have is a 409 and changes nothing", async () => {
  const control = new EngineControl({
    modelSize: 100,
    window: 5,
    setZThreshold: () => {},
    zThreshold: 3,
  });
  assert.throws(
    () => control.apply({ z_threshold: 4, anomaly_level: 0.5 }),
    ControlUnavailableError,
  );
  assert.equal(control.get().z_threshold, 3);
  const app = createApp(new EngineState(), { control });
  const res = await app.request("/control", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ running: false }),
  });
  assert.equal(res.status, 409);
  assert.match((await res.json()).error, /^running cannot be changed here/);
});

Deno.test("a paused simulator source produces no readings until resumed", async () => {
  const simulator = new MachineSimulator({ machines: 2, seed: 3 });
  const stop = new AbortController();
  const source = new SimulatorSource({ simulator, intervalMs: 10, signal: stop.signal });
  const reader = source.readable.getReader();
  await reader.read(); // the first tick
  source.paused = true;
  // Drain what was queued before the pause, then nothing may arrive while paused.
  await new Promise((r) => setTimeout(r, 30));
  const drained: number[] = [];
  const pending = reader.read().then((r) => drained.push(r.value?.[0]?.timestamp ?? -1));
  await new Promise((r) => setTimeout(r, 80));
  const during = drained.length;
  source.paused = false;
  await pending;
  stop.abort();
  await reader.cancel();
  assert.ok(during <= 1, `readings kept coming while paused (${during})`);
  assert.equal(drained.length, 1);
});
