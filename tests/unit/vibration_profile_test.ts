/**
 * The `vibration` profile end to end in-process: simulated frames → WASM features → readings →
 * the analyzer with the profile's limits. Each scheduled fault raises its own alarm once and
 * clears it after the fault; healthy frames raise nothing. Plus the live source's timer and pause.
 */
import assert from "node:assert/strict";
import { VibrationSimulator } from "../../simulator/vibration_simulator.ts";
import { featureReadings, VibrationSource } from "../../simulator/vibration_source.ts";
import {
  Analyzer,
  type Reading,
  ReferenceKernel,
  VIBRATION_CHANNELS,
  WasmVibrationFeatures,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("featureReadings: one reading per frame, channels in feature order, ground truth kept", () => {
  const sim = new VibrationSimulator({
    machines: 2,
    seed: 3,
    faultRate: 0,
    schedule: [{ machine: "m2", fault: "bearing", start: 0, frames: 1 }],
  });
  const extractor = new WasmVibrationFeatures();
  const tick = sim.tick(T0);
  const rows = extractor.extract(tick.samples, 2);
  const names = extractor.options.featureNames;
  const readings = featureReadings(tick, rows, names);
  assert.equal(readings.length, 2);
  assert.deepEqual(readings.map((r) => r.machine), ["m1", "m2"]);
  assert.deepEqual(Object.keys(readings[0]!.channels), [...names]);
  for (let i = 0; i < names.length; i++) {
    // Six significant digits of the WASM row.
    const want = rows[names.length + i]!;
    const got = readings[1]!.channels[names[i]!]!;
    assert.ok(Math.abs(got - want) <= Math.abs(want) * 1e-5, `${names[i]}: ${got} vs ${want}`);
  }
  assert.equal(readings[0]!.injected, undefined);
  assert.equal(readings[1]!.injected, "bearing");
  assert.equal(readings[0]!.timestamp, T0);
});

Deno.test("vibration profile: each fault raises its own alarm once and clears it", () => {
  const faults = [
    { machine: "m1", fault: "imbalance", start: 40, frames: 20, channel: "rms" },
    { machine: "m2", fault: "misalignment", start: 40, frames: 20, channel: "band_energy_3" },
    { machine: "m3", fault: "looseness", start: 40, frames: 20, channel: "band_energy_5" },
    { machine: "m4", fault: "bearing", start: 40, frames: 20, channel: "band_energy_7" },
  ] as const;
  const sim = new VibrationSimulator({
    machines: 5, // m5 stays healthy throughout
    seed: 11,
    faultRate: 0,
    schedule: faults.map(({ machine, fault, start, frames }) => ({
      machine,
      fault,
      start,
      frames,
    })),
  });
  const extractor = new WasmVibrationFeatures();
  const analyzer = new Analyzer(new ReferenceKernel({ window: 5 }), {
    processingIntervalMs: 10_000,
    channels: VIBRATION_CHANNELS,
  });
  const events = [];
  const readings: Reading[] = [];
  for (let f = 0; f < 100; f++) {
    const tick = sim.tick(T0 + f * sim.frameDurationMs);
    const batch = featureReadings(
      tick,
      extractor.extract(tick.samples, 5),
      extractor.options.featureNames,
    );
    readings.push(...batch);
    events.push(...analyzer.analyze(batch).events.map((e) => e.event));
  }
  const breaches = events.filter((e) => e.type.startsWith("THRESHOLD_BREACH_"));
  for (const { machine, channel, start, frames } of faults) {
    const mine = breaches.filter((e) => e.machine === machine && e.channel === channel);
    assert.deepEqual(
      mine.map((e) => e.severity),
      ["CRITICAL", "INFO"],
      `${machine} ${channel}: ${JSON.stringify(mine)}`,
    );
    // Raised during the fault, cleared after it ended (3 normal frames later at the earliest).
    const raised = Date.parse(mine[0]!.timestamp);
    const cleared = Date.parse(mine[1]!.timestamp);
    assert.ok(raised >= T0 + start * sim.frameDurationMs - 1);
    assert.ok(raised < T0 + (start + frames) * sim.frameDurationMs);
    assert.ok(cleared >= T0 + (start + frames + 2) * sim.frameDurationMs - 1);
    const truth = readings.find((r) =>
      r.machine === machine && new Date(r.timestamp).toISOString() === mine[0]!.timestamp
    );
    assert.ok(truth?.injected, `the raising frame of ${machine} is a faulty one`);
  }
  assert.deepEqual(breaches.filter((e) => e.machine === "m5"), [], "a healthy machine is quiet");
});

Deno.test("VibrationSource: ticks on its own, pauses, stops on abort", async () => {
  const sim = new VibrationSimulator({ machines: 2, seed: 1, sampleRate: 4000, frameSize: 256 });
  const ac = new AbortController();
  const source = new VibrationSource({
    simulator: sim,
    extractor: new WasmVibrationFeatures({ frameSize: 256 }),
    signal: ac.signal,
  });
  const reader = source.readable.getReader();
  const first = await reader.read();
  assert.equal(first.value?.length, 2);
  const second = await reader.read(); // 64 ms later, from the timer
  assert.ok(second.value![0]!.timestamp >= first.value![0]!.timestamp);
  source.paused = true;
  ac.abort();
  // Whatever was queued, the stream ends.
  while (!(await reader.read()).done);
  assert.throws(
    () =>
      new VibrationSource({
        simulator: sim,
        extractor: new WasmVibrationFeatures({ frameSize: 512 }),
      }),
    /frameSize 512 differs from the simulator's 256/,
  );
});
