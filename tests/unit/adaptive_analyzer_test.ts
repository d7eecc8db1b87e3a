/**
 * The adaptive detector through the Analyzer (reference twins of both kernels, small generated
 * series): `ANOMALY_<CH>` raised once and cleared once for a spike, a level step, a quantised
 * channel and a seasonal series; no `ZSCORE_*` under it; the checks' `activeStatuses` keep
 * inactive readings from it.
 */
import assert from "node:assert/strict";
import {
  Analyzer,
  type AnomalyEvent,
  type ChannelConfig,
  type Reading,
  ReferenceAdaptiveDetector,
  ReferenceKernel,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 5); // a Monday
const MINUTE = 60_000;

/** Deterministic noise in [-0.5, 0.5). */
function noise(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
}

/** The events of one channel `x` of machine m1 with these values, `stepMs` apart. */
function eventsOf(
  values: readonly number[],
  options: { stepMs?: number; channels?: Record<string, ChannelConfig>; status?: string[] } = {},
): { index: number; event: AnomalyEvent }[] {
  const analyzer = new Analyzer(new ReferenceKernel({ maxStreams: 8, batchCapacity: 256 }), {
    channels: options.channels ?? {},
    adaptive: new ReferenceAdaptiveDetector({ maxStreams: 8, batchCapacity: 256 }),
  });
  const readings: Reading[] = values.map((x, i) => ({
    timestamp: T0 + i * (options.stepMs ?? MINUTE),
    machine: "m1",
    status: options.status?.[i] ?? "RUNNING",
    channels: { x },
  }));
  const events: { index: number; event: AnomalyEvent }[] = [];
  // Batches of 100 readings: several slices per batch, like the pipeline's.
  for (let from = 0; from < readings.length; from += 100) {
    for (const e of analyzer.analyze(readings.slice(from, from + 100)).events) {
      events.push({ index: from + e.index, event: e.event });
    }
  }
  return events;
}

const brief = (es: { index: number; event: AnomalyEvent }[]) =>
  es.map(({ index, event }) => `${index} ${event.type} ${event.severity}`);

Deno.test("adaptive: a spike is one ANOMALY raise (CRITICAL, far above) and one clear", () => {
  const r = noise(1);
  const values = Array.from({ length: 900 }, (_, i) => 50 + r() + (i === 600 ? 40 : 0));
  const events = eventsOf(values, { channels: { x: { label: "Pressure", unit: " bar" } } });
  // The clear needs 20 readings in a row below half the threshold: the spike also pulled the
  // mid level, so the level-shift part takes a while longer to settle.
  assert.deepEqual(brief(events).map((s) => s.replace(/^6[2-9]\d /, "6x0 ")), [
    "600 ANOMALY_X CRITICAL",
    "6x0 ANOMALY_X INFO",
  ]);
  const [raise, clear] = events.map((e) => e.event);
  assert.match(
    raise!.description,
    /^Pressure (89|90)\.\d\d bar is \d+\.\dσ above its expected 50\.\d\d bar \(score \d+\.\d\d, threshold 1\.0\)\.$/,
  );
  assert.equal(raise!.threshold, 1);
  assert.equal(raise!.channel, "x");
  assert.match(
    clear!.description,
    /^Pressure 50\.\d\d bar is back to normal \(expected 50\.\d\d bar\)\.$/,
  );
});

Deno.test("adaptive: a level step is raised once, then accepted or cleared once; no ZSCORE", () => {
  const r = noise(2);
  const values = Array.from({ length: 2000 }, (_, i) => (i < 600 ? 10 : 14) + r());
  const events = eventsOf(values);
  assert.ok(!events.some((e) => e.event.type.startsWith("ZSCORE_")));
  const list = brief(events);
  assert.equal(list.length, 2, list.join());
  assert.match(list[0]!, /^60\d ANOMALY_X (WARNING|CRITICAL)$/);
  assert.match(list[1]!, /^\d+ ANOMALY_X INFO$/);
  const last = events[1]!.event.description;
  assert.ok(/back to normal|accepted as normal after 720 readings/.test(last), last);
});

Deno.test("adaptive: a quantised channel (steps of 1) does not alarm on its own steps; a jump does", () => {
  const r = noise(3);
  // Mostly 5, now and then 4 or 6: the resolution floor keeps the scale from collapsing.
  const values = Array.from({ length: 1500 }, (_, i) => {
    if (i >= 1200 && i < 1210) return 16;
    const u = r();
    return u > 0.45 ? 6 : u < -0.45 ? 4 : 5;
  });
  const list = brief(eventsOf(values));
  assert.deepEqual(list.map((s) => s.split(" ").slice(1).join(" ")), [
    "ANOMALY_X WARNING", // 11 quanta above 5 with σ at its floor of one quantum: 11 / 7 < 2
    "ANOMALY_X INFO",
  ]);
  assert.ok(list[0]!.startsWith("1200 "), list.join());
});

Deno.test("adaptive: a daily cycle is learned, a reading normal by day but at night alarms", () => {
  const r = noise(4);
  const step = 10 * MINUTE; // 144 readings a day, 8 days
  const day = (i: number) => 20 + 10 * Math.sin((2 * Math.PI * (i % 144)) / 144);
  const anomaly = 7 * 144 + 108; // 18:00 on day 8: the cycle's low, 10
  const values = Array.from(
    { length: 8 * 144 },
    (_, i) => day(i) + 0.3 * r() + (i >= anomaly && i < anomaly + 6 ? 12 : 0),
  );
  const events = eventsOf(values, { stepMs: step });
  // The daily swing (±10) alone, after the warm-up, raises nothing; the 22 at 18:00 does.
  assert.ok(events.length >= 1, "the night-time value alarms");
  assert.ok(events.every((e) => e.index >= anomaly), brief(events).join());
  assert.equal(events[0]!.index, anomaly);
  assert.notEqual(events[0]!.event.severity, "INFO");
});

Deno.test("adaptive: readings outside activeStatuses teach the detector nothing", () => {
  const r = noise(5);
  // Running at 1500 with stops at 0 every 300 readings: the stops are not anomalies.
  const status: string[] = [];
  const values = Array.from({ length: 1500 }, (_, i) => {
    const running = i % 300 < 250;
    status.push(running ? "RUNNING" : "IDLE");
    return running ? 1500 + 10 * r() : 0;
  });
  const channels = { x: { activeStatuses: ["RUNNING"] } };
  assert.deepEqual(brief(eventsOf(values, { channels, status })), []);
  assert.ok(eventsOf(values).length > 0, "without activeStatuses the stops do alarm");
});
