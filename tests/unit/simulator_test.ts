/**
 * Tests of the simulators.
 *
 * Past ~400 lines: the whole suite of one component (simulator), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import {
  createGaussian,
  createPrng,
  DWELL_TICKS,
  FAULT_KINDS,
  generateReadings,
  MACHINE_PROFILE,
  MachineSimulator,
  type MachineSimulatorOptions,
  NEXT_STATUS,
  SimulatorSource,
} from "../../simulator/mod.ts";
import {
  formatReading,
  MACHINE_STATUSES,
  type MachineStatus,
  type Reading,
  StatusTransitionError,
  TRANSITIONS,
  UnknownMachineError,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const INTERVAL = 2000;

/** `ticks` ticks of a fresh simulator, every reading in order. */
function run(options: MachineSimulatorOptions, ticks: number): Reading[] {
  const sim = new MachineSimulator(options);
  const out: Reading[] = [];
  for (let i = 0; i < ticks; i++) out.push(...sim.tick(T0 + i * INTERVAL));
  return out;
}

/** Readings grouped by machine, each in time order. */
function byMachine(readings: readonly Reading[]): Map<string, Reading[]> {
  const map = new Map<string, Reading[]>();
  for (const r of readings) {
    let list = map.get(r.machine);
    if (!list) map.set(r.machine, list = []);
    list.push(r);
  }
  return map;
}

const temp = (r: Reading) => r.channels.temperature!;
const speed = (r: Reading) => r.channels.speed!;

Deno.test("prng: same seed and stream repeat, streams differ, uniforms in [0, 1)", () => {
  const a = createPrng(42, 3);
  const b = createPrng(42, 3);
  const xs = Array.from({ length: 1000 }, a);
  assert.deepEqual(Array.from({ length: 1000 }, b), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(Array.from({ length: 10 }, createPrng(42, 4)), xs.slice(0, 10));
  assert.notDeepEqual(Array.from({ length: 10 }, createPrng(43, 3)), xs.slice(0, 10));
  const g = createGaussian(createPrng(1));
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < 100_000; i++) {
    const x = g();
    sum += x;
    sq += x * x;
  }
  assert.ok(Math.abs(sum / 100_000) < 0.02);
  assert.ok(Math.abs(sq / 100_000 - 1) < 0.03);
});

Deno.test("simulator: the same seed gives identical readings over 10,000 ticks", () => {
  const a = run({ machines: 3, seed: 1234 }, 10_000);
  const b = run({ machines: 3, seed: 1234 }, 10_000);
  assert.ok(a.length > 29_000);
  assert.deepEqual(a, b);
});

Deno.test("simulator: different seeds give different readings", () => {
  const a = run({ machines: 3, seed: 1 }, 100).map((r) => r.channels);
  const b = run({ machines: 3, seed: 2 }, 100).map((r) => r.channels);
  assert.notDeepEqual(a, b);
  // With no seed, one is drawn at random and exposed for reproduction.
  const sim = new MachineSimulator();
  assert.equal(typeof sim.seed, "number");
  assert.deepEqual(
    new MachineSimulator({ seed: sim.seed }).tick(T0),
    sim.tick(T0),
  );
});

Deno.test("simulator: a machine's readings do not depend on how many machines there are", () => {
  const two = byMachine(run({ machines: 2, seed: 99, faultRate: 0.05 }, 3000)).get("m2");
  const five = byMachine(run({ machines: 5, seed: 99, faultRate: 0.05 }, 3000)).get("m2");
  assert.ok(two && two.length > 2500);
  assert.deepEqual(five, two);
});

Deno.test("simulator: machines are m1 … mN; options are validated", () => {
  const sim = new MachineSimulator({ machines: 4, seed: 1 });
  assert.deepEqual(sim.machines(), ["m1", "m2", "m3", "m4"]);
  assert.deepEqual(sim.tick(T0).map((r) => r.machine), ["m1", "m2", "m3", "m4"]);
  assert.equal(sim.status("m1"), "STARTED");
  assert.throws(() => new MachineSimulator({ machines: 0 }), RangeError);
  assert.throws(() => new MachineSimulator({ seed: 1.5 }), RangeError);
  assert.throws(() => new MachineSimulator({ faultRate: 2 }), RangeError);
  assert.throws(() => new MachineSimulator({ anomalyLevel: -0.1 }), RangeError);
  assert.throws(() => sim.faultRate = Number.NaN, RangeError);
  assert.throws(() => sim.anomalyLevel = 1.5, RangeError);
  assert.equal(sim.faultRate, 0.01);
  assert.equal(sim.anomalyLevel, 0);
});

Deno.test("simulator: the automatic cycle makes only allowed transitions and visits every status", () => {
  for (const faultRate of [0, 0.05]) {
    const machines = byMachine(run({ machines: 3, seed: 5, faultRate }, 5000));
    for (const [id, readings] of machines) {
      const seen = new Set<string>();
      let runLength = 0;
      for (let i = 0; i < readings.length; i++) {
        const cur = readings[i]!.status as MachineStatus;
        seen.add(cur);
        const prev = readings[i - 1]?.status as MachineStatus | undefined;
        if (prev === undefined || prev === cur) {
          runLength++;
          continue;
        }
        assert.ok(TRANSITIONS[prev].includes(cur), `${id}: ${prev} → ${cur}`);
        assert.equal(cur, NEXT_STATUS[prev]);
        // Dwell times are whole runs here (not the first, which the test may cut; no dropout
        // in faultRate 0).
        if (faultRate === 0 && i > runLength) {
          const [min, max] = DWELL_TICKS[prev];
          assert.ok(runLength >= min && runLength <= max, `${prev} lasted ${runLength}`);
        }
        runLength = 1;
      }
      assert.deepEqual([...seen].sort(), [...MACHINE_STATUSES].sort(), id);
    }
  }
});

Deno.test("simulator: values stay in physical bounds unless injected; 2 decimals", () => {
  const readings = run({ machines: 5, seed: 17, faultRate: 0.02 }, 10_000);
  const [tMin, tMax] = MACHINE_PROFILE.temperature.alert;
  const [sMin, sMax] = MACHINE_PROFILE.speed.alert;
  let clean = 0;
  for (const r of readings) {
    assert.deepEqual(Object.keys(r.channels), ["temperature", "speed"]);
    for (const v of Object.values(r.channels)) assert.equal(Math.round(v * 100) / 100, v);
    if (r.injected !== undefined) continue;
    clean++;
    assert.ok(temp(r) >= tMin && temp(r) <= tMax, `temperature ${temp(r)}`);
    assert.ok(speed(r) >= 0 && speed(r) <= sMax, `speed ${speed(r)}`);
    if (r.status === "RUNNING") {
      // At the base noise level a clean RUNNING reading is well inside the normal ranges.
      assert.ok(speed(r) >= sMin, `RUNNING speed ${speed(r)}`);
      assert.ok(temp(r) >= 15 && temp(r) <= 35, `RUNNING temperature ${temp(r)}`);
    }
  }
  assert.ok(clean > readings.length * 0.8);
});

Deno.test("simulator: speed is exactly 0 in PAUSED, COMPLETED and SHUTDOWN", () => {
  const readings = run({ machines: 4, seed: 23, faultRate: 0.05, anomalyLevel: 1 }, 5000);
  let stopped = 0;
  for (const r of readings) {
    if (r.status === "PAUSED" || r.status === "COMPLETED" || r.status === "SHUTDOWN") {
      assert.ok(Object.is(speed(r), 0), `${r.machine} ${r.status} speed ${speed(r)}`);
      stopped++;
    }
  }
  assert.ok(stopped > 1000);
});

Deno.test("simulator: every fault type occurs, only in RUNNING, and is marked", () => {
  const readings = run({ machines: 5, seed: 8, faultRate: 0.2 }, 4000);
  const counts = new Map<string, number>();
  for (const [id, list] of byMachine(readings)) {
    let drift: Reading[] = [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      const prev = list[i - 1];
      if (r.injected === undefined) continue;
      counts.set(r.injected, (counts.get(r.injected) ?? 0) + 1);
      assert.equal(r.status, "RUNNING", `${id}: fault outside RUNNING`);
      switch (r.injected) {
        case "spike":
          assert.ok(temp(r) > 40 || speed(r) > 2200, `spike ${JSON.stringify(r.channels)}`);
          break;
        case "stuck":
          assert.ok(prev);
          assert.ok(temp(r) === temp(prev) || speed(r) === speed(prev), "stuck repeats a value");
          break;
        case "dropout":
          assert.ok(prev);
          assert.ok(r.timestamp - prev.timestamp >= 2 * INTERVAL, "dropout leaves a gap");
          break;
        case "drift": {
          drift.push(r);
          const next = list[i + 1];
          if (next && next.injected !== "drift") {
            // One whole drift episode (the run may cut the last one): a steady climb that ends
            // past the normal range.
            const first = drift[0]!;
            const last = drift.at(-1)!;
            assert.ok(temp(last) > 35, `drift ends at ${temp(last)}`);
            assert.ok(temp(last) - temp(first) > 5);
            drift = [];
          }
          break;
        }
        default:
          assert.fail(`unknown fault ${r.injected}`);
      }
    }
  }
  for (const kind of FAULT_KINDS) assert.ok((counts.get(kind) ?? 0) > 10, `${kind}: ${counts}`);
});

Deno.test("simulator: a dropout leaves a gap of ticks in that machine only", () => {
  const sim = new MachineSimulator({ machines: 3, seed: 4, faultRate: 0.2 });
  const last = new Map<string, number>();
  let gaps = 0;
  for (let i = 0; i < 2000; i++) {
    const t = T0 + i * INTERVAL;
    const readings = sim.tick(t);
    for (const r of readings) {
      const gap = (t - (last.get(r.machine) ?? t - INTERVAL)) / INTERVAL - 1;
      // A gap is always a dropout, and a dropout always follows a gap of whole ticks.
      assert.equal(gap > 0, r.injected === "dropout", `${r.machine} at tick ${i}`);
      if (gap > 0) {
        assert.ok(gap >= 1 && gap <= 10 && Number.isInteger(gap));
        gaps++;
      }
      last.set(r.machine, t);
    }
  }
  assert.ok(gaps > 5);
});

Deno.test("simulator: faultRate 0 gives no injected readings; the knobs change live", () => {
  const readings = run({ machines: 3, seed: 31, faultRate: 0 }, 10_000);
  assert.equal(readings.length, 30_000);
  assert.ok(readings.every((r) => r.injected === undefined));

  const sim = new MachineSimulator({ machines: 3, seed: 31, faultRate: 0 });
  let injected = 0;
  sim.faultRate = 0.3;
  for (let i = 0; i < 500; i++) injected += sim.tick(T0 + i).filter((r) => r.injected).length;
  assert.ok(injected > 0);
});

Deno.test("simulator: anomalyLevel makes the readings noisier", () => {
  const spread = (anomalyLevel: number) => {
    const sim = new MachineSimulator({ seed: 3, faultRate: 0 });
    sim.anomalyLevel = anomalyLevel;
    const speeds: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const r = sim.tick(T0 + i)[0]!;
      if (r.status === "RUNNING") speeds.push(speed(r));
    }
    const diffs = speeds.slice(1).map((s, i) => Math.abs(s - speeds[i]!));
    return diffs.reduce((a, b) => a + b, 0) / diffs.length;
  };
  const base = spread(0);
  const noisy = spread(1);
  assert.ok(noisy > 5 * base, `${noisy} vs ${base}`);
});

Deno.test("simulator: setStatus validates, changes nothing on error, and takes effect at once", () => {
  const sim = new MachineSimulator({ machines: 2, seed: 12, faultRate: 0.1 });
  const twin = new MachineSimulator({ machines: 2, seed: 12, faultRate: 0.1 });
  for (let i = 0; i < 10; i++) assert.deepEqual(sim.tick(T0 + i), twin.tick(T0 + i));
  const status = sim.status("m1");
  assert.equal(status, "RUNNING");

  assert.throws(() => sim.setStatus("m1", "STARTED", T0 + 10), StatusTransitionError);
  assert.throws(
    () => sim.setStatus("m9", "PAUSED", T0 + 10),
    (e: unknown) => e instanceof UnknownMachineError && /m9/.test(e.message),
  );
  assert.throws(() => sim.status("m9"), /m9/);
  assert.equal(sim.status("m1"), status);
  // Nothing changed, not even the random streams: the twin still matches tick for tick.
  for (let i = 10; i < 200; i++) assert.deepEqual(sim.tick(T0 + i), twin.tick(T0 + i));

  const before = sim.status("m2");
  const next = TRANSITIONS[before][0]!;
  sim.setStatus("m2", next, T0);
  assert.equal(sim.status("m2"), next);

  while (sim.status("m1") !== "RUNNING") sim.tick(T0);
  const paused = sim.setStatus("m1", "PAUSED", T0 + 12_345);
  assert.equal(paused.status, "PAUSED");
  assert.equal(paused.machine, "m1");
  assert.equal(paused.timestamp, T0 + 12_345);
  assert.ok(Object.is(speed(paused), 0));
  assert.equal(sim.status("m1"), "PAUSED");
  // The dwell timer restarted: PAUSED lasts its full dwell time from here.
  const [min] = DWELL_TICKS.PAUSED;
  for (let i = 0; i < min; i++) {
    const r = sim.tick(T0 + 20_000 + i).find((x) => x.machine === "m1")!;
    assert.equal(r.status, "PAUSED");
    assert.equal(speed(r), 0);
  }
  const resumed = sim.setStatus("m1", "RUNNING", T0 + 30_000);
  assert.equal(resumed.status, "RUNNING");
  assert.ok(speed(resumed) > 0);
});

Deno.test("setStatus during a dropout ends it and marks the reading after the gap", () => {
  const sim = new MachineSimulator({ seed: 6, faultRate: 0.3 });
  let i = 0;
  // Tick until m1 is silent (in a dropout).
  while (sim.tick(T0 + i * INTERVAL).length > 0) i++;
  assert.equal(sim.status("m1"), "RUNNING");
  const r = sim.setStatus("m1", "SHUTDOWN", T0 + ++i * INTERVAL);
  assert.equal(r.injected, "dropout");
  assert.equal(r.status, "SHUTDOWN");
  assert.equal(sim.tick(T0 + ++i * INTERVAL).length, 1);
});

/** The plain reference of formatReading: JSON.stringify of the fields in their order. */
function stringifyReading(r: Reading): string {
  return JSON.stringify({
    timestamp: new Date(r.timestamp).toISOString(),
    machine: r.machine,
    status: r.status,
    ...r.channels,
    ...(r.injected === undefined ? {} : { injected: r.injected }),
  });
}

Deno.test("formatReading: the normalised line, round-trips, equals JSON.stringify", () => {
  const r: Reading = {
    timestamp: T0 + 1500,
    machine: "m1",
    status: "RUNNING",
    channels: { temperature: 25.7, speed: 1500 },
  };
  assert.equal(
    formatReading(r),
    '{"timestamp":"2026-01-01T00:00:01.500Z","machine":"m1","status":"RUNNING",' +
      '"temperature":25.7,"speed":1500}',
  );
  assert.equal(
    formatReading({ ...r, injected: "spike" }),
    '{"timestamp":"2026-01-01T00:00:01.500Z","machine":"m1","status":"RUNNING",' +
      '"temperature":25.7,"speed":1500,"injected":"spike"}',
  );
  const odd: Reading = {
    timestamp: T0,
    machine: 'say "hi"\\\n\u2028',
    status: null,
    channels: { 'a"b': -0.05, big: 1e21, tiny: 1e-7, third: 1 / 3, neg: -12.3, z: -0 },
  };
  const parsed = JSON.parse(formatReading(odd));
  assert.deepEqual(parsed, {
    timestamp: "2026-01-01T00:00:00.000Z",
    machine: odd.machine,
    status: null,
    ...odd.channels,
    z: 0,
  });
  assert.equal(formatReading(odd), stringifyReading(odd));

  for (
    const g of generateReadings({
      machines: 7,
      seed: 2,
      count: 20_000,
      start: T0,
      intervalMs: 2000,
      faultRate: 0.1,
    })
  ) {
    const line = formatReading(g);
    assert.equal(line, stringifyReading(g));
    const back = JSON.parse(line);
    assert.equal(Date.parse(back.timestamp), g.timestamp);
    assert.equal(back.machine, g.machine);
    assert.equal(back.status, g.status);
    assert.equal(back.temperature, g.channels.temperature);
    assert.equal(back.speed, g.channels.speed);
    assert.equal(back.injected, g.injected);
  }
});

Deno.test("generateReadings yields exactly count readings on the tick grid", () => {
  for (const count of [0, 1, 7, 1000, 12_345]) {
    const list = [...generateReadings({ machines: 4, seed: 9, count, start: T0, intervalMs: 500 })];
    assert.equal(list.length, count);
    for (const r of list) assert.equal((r.timestamp - T0) % 500, 0);
  }
  const a = [
    ...generateReadings({ machines: 3, seed: 9, count: 3000, start: T0, intervalMs: 2000 }),
  ];
  assert.deepEqual(a, run({ machines: 3, seed: 9 }, 1100).slice(0, 3000));
  assert.throws(
    () => [...generateReadings({ machines: 1, seed: 1, count: -1, start: T0, intervalMs: 1 })],
    RangeError,
  );
});

/** Reads every remaining chunk of a stream. */
async function drain<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

Deno.test("SimulatorSource ticks on its interval, one chunk per tick, until cancelled", async () => {
  let clock = T0;
  const source = new SimulatorSource({
    simulator: new MachineSimulator({ machines: 3, seed: 1, faultRate: 0 }),
    intervalMs: 20,
    now: () => (clock += 1000),
  });
  assert.ok(source.controls("m3"));
  assert.ok(!source.controls("m4"));
  const reader = source.readable.getReader();
  const chunks: Reading[][] = [];
  for (let i = 0; i < 4; i++) {
    const { value, done } = await reader.read();
    assert.ok(!done && value);
    chunks.push(value);
  }
  source.cancel();
  source.cancel(); // idempotent
  while (!(await reader.read()).done);
  assert.ok(source.stopped);
  assert.deepEqual(chunks.map((c) => c.map((r) => r.machine)), Array(4).fill(["m1", "m2", "m3"]));
  assert.deepEqual(chunks.map((c) => c[0]!.timestamp), [1, 2, 3, 4].map((k) => T0 + k * 1000));
  await assert.rejects(() => source.setStatus("m1", "SHUTDOWN"), /stopped/);
});

Deno.test("SimulatorSource: setStatus goes through the simulator into the same stream", async () => {
  const simulator = new MachineSimulator({ machines: 2, seed: 1 });
  const source = new SimulatorSource({ simulator, intervalMs: 60_000, now: () => T0 + 7 });
  // The first tick happened at construction: both machines are STARTED.
  const reading = await source.setStatus("m2", "SHUTDOWN");
  assert.equal(reading.status, "SHUTDOWN");
  assert.equal(reading.timestamp, T0 + 7);
  assert.equal(speed(reading), 0);
  assert.equal(simulator.status("m2"), "SHUTDOWN");
  await assert.rejects(() => source.setStatus("m2", "PAUSED"), StatusTransitionError);
  await assert.rejects(() => source.setStatus("m7", "PAUSED"), UnknownMachineError);
  source.cancel();
  const chunks = await drain(source.readable);
  assert.equal(chunks.length, 2);
  assert.equal(chunks[0]!.length, 2);
  assert.deepEqual(chunks[1], [reading]);
});

Deno.test("SimulatorSource stops on abort, and at once when already aborted", async () => {
  const stop = new AbortController();
  const source = new SimulatorSource({
    simulator: new MachineSimulator({ seed: 1 }),
    intervalMs: 10,
    signal: stop.signal,
  });
  const reader = source.readable.getReader();
  assert.ok(!(await reader.read()).done);
  assert.ok(!(await reader.read()).done);
  stop.abort();
  assert.ok(source.stopped);
  while (!(await reader.read()).done);

  const early = new SimulatorSource({
    simulator: new MachineSimulator({ seed: 1 }),
    intervalMs: 10,
    signal: AbortSignal.abort(),
  });
  assert.deepEqual(await drain(early.readable), []);
});

Deno.test("SimulatorSource drops ticks, bounded, when the consumer is slow; stream cancel stops it", async () => {
  const simulator = new MachineSimulator({ seed: 1, faultRate: 0 });
  const source = new SimulatorSource({ simulator, intervalMs: 5, highWaterMark: 3 });
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(source.dropped > 0, `dropped ${source.dropped}`);
  const reader = source.readable.getReader();
  const kept = [];
  for (let i = 0; i < 3; i++) kept.push((await reader.read()).value!);
  // Dropped ticks were not simulated: the machine's readings continue without a hole in its
  // random stream, only its timestamps skip.
  const replay = new MachineSimulator({ seed: 1, faultRate: 0 });
  assert.deepEqual(
    kept.map((c) => c[0]!.channels),
    [0, 1, 2].map(() => replay.tick(0)[0]!.channels),
  );
  await reader.cancel();
  assert.ok(source.stopped);
  const dropped = source.dropped;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(source.dropped, dropped);
});
