/**
 * The heartbeat core: a fixed timeout (the `device` profile's) and the timeout learned per
 * machine (`"auto"`, the default of the other profiles), fed with event times as a replay
 * feeds it and with a "now" as the live timer does.
 */
import assert from "node:assert/strict";
import { type AnomalyEvent, HeartbeatMonitor } from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Feeds `times` (ms after T0) of one machine; returns every event. */
function feed(monitor: HeartbeatMonitor, machine: string, times: number[]) {
  return times.flatMap((t) => monitor.observe(machine, T0 + t));
}

Deno.test("fixed timeout: a gap longer than it is a loss stamped last + timeout, then a restore", () => {
  const hb = new HeartbeatMonitor({ timeoutMs: 5000 });
  const events = feed(hb, "m1", [0, 1000, 2000, 9000]);
  assert.deepEqual(events.map((e) => [e.type, e.timestamp]), [
    ["HEARTBEAT_LOSS", new Date(T0 + 7000).toISOString()],
    ["HEARTBEAT_RESTORED", new Date(T0 + 9000).toISOString()],
  ]);
  assert.equal(events[0]!.threshold, 5);
  assert.equal(events[1]!.value, 7);
});

Deno.test("auto: no loss while the timeout is being learned, however long the gap", () => {
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 10 });
  // Eight gaps of 1 s, then one of an hour: nine gaps, still learning (10 needed).
  const times = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((s) => s * 1000);
  const last = 8000 + 3_600_000;
  assert.deepEqual(feed(hb, "m1", [...times, last]), []);
  assert.deepEqual(hb.check(T0 + last + 10 * 3_600_000), []);
  // The tenth gap completes it: max(10 × 1 s, 4 × 1 h) = 4 h.
  assert.deepEqual(feed(hb, "m1", [last + 1000]), []);
  assert.deepEqual(hb.check(T0 + last + 1000 + 4 * 3_600_000), []);
  assert.equal(hb.check(T0 + last + 1000 + 4 * 3_600_000 + 1)[0]?.threshold, 4 * 3600);
});

Deno.test("auto: the learned timeout is max(10 × median gap, 4 × longest gap, 2 s)", () => {
  // A regular 1 s machine: 10 × 1 s wins over 4 × its longest gap (2 s).
  const regular = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 5 });
  const t = [0, 1000, 2000, 4000, 5000, 6000];
  assert.deepEqual(feed(regular, "m1", t), []);
  assert.deepEqual(feed(regular, "m1", [6000 + 9999]), [], "9.999 s is within 10 s");
  const lost = feed(regular, "m1", [15_999 + 10_001]);
  assert.equal(lost[0]!.type, "HEARTBEAT_LOSS");
  assert.equal(lost[0]!.threshold, 10);
  assert.equal(lost[0]!.timestamp, new Date(T0 + 15_999 + 10_000).toISOString());
  assert.match(lost[0]!.description, /No data received for 10\.0 seconds/);

  // A machine that went quiet for a minute while it was learned: lost after 4 minutes.
  const quiet = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 5 });
  feed(quiet, "m2", [0, 1000, 2000, 62_000, 63_000, 64_000]);
  assert.deepEqual(feed(quiet, "m2", [64_000 + 240_000]), []);
  const lost2 = feed(quiet, "m2", [304_000 + 240_001]);
  assert.equal(lost2[0]?.type, "HEARTBEAT_LOSS");
  assert.equal(lost2[0]?.threshold, 240);
});

Deno.test("auto: the gap buffer grows as it fills; every learned gap counts (the first ones too)", () => {
  // 100 gaps (the buffer starts at 16 entries and doubles: 16, 32, 64, 100): the longest is the
  // first one, so a lost copy of the early entries would show in the timeout.
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 100 });
  const times = [0, 30_000];
  for (let i = 1; i < 100; i++) times.push(30_000 + i * 1000);
  assert.deepEqual(feed(hb, "m1", times), []);
  const last = times.at(-1)!;
  assert.deepEqual(hb.check(T0 + last + 120_000), [], "4 × 30 s");
  assert.equal(hb.check(T0 + last + 120_001)[0]?.threshold, 120);
});

Deno.test("auto: never less than 2 s, so a fast machine survives a short pause of the pipeline", () => {
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 50 });
  // 50 readings a second: 10 gaps are 0.2 s, the floor is 2 s.
  feed(hb, "m1", Array.from({ length: 51 }, (_, i) => i * 20));
  assert.deepEqual(hb.check(T0 + 1000 + 2000), []);
  assert.equal(hb.check(T0 + 1000 + 2001)[0]?.threshold, 2);
});

Deno.test("auto: each machine learns its own cadence; the live check uses it", () => {
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 4 });
  feed(hb, "fast", [0, 1000, 2000, 3000, 4000]); // timeout 10 s
  feed(hb, "slow", [0, 60_000, 120_000, 180_000, 240_000]); // timeout 600 s
  const at = (s: number) => hb.check(T0 + s * 1000).map((e) => e.machine);
  assert.deepEqual(at(14), []);
  assert.deepEqual(at(14.001), ["fast"]);
  assert.deepEqual(at(840), []);
  assert.deepEqual(at(840.001), ["slow"]);
  assert.deepEqual(hb.lost.sort(), ["fast", "slow"]);
});

Deno.test("auto: repeated and out-of-order timestamps teach nothing", () => {
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 3 });
  // Duplicates (gap 0) and a reading back in time are not gaps: the three gaps are 1 s each.
  feed(hb, "m1", [0, 0, 1000, 500, 1000, 2000, 3000]);
  assert.deepEqual(hb.check(T0 + 3000 + 10_000), []);
  assert.equal(hb.check(T0 + 3000 + 10_001).length, 1);
});

Deno.test("bad options are refused, naming the value", () => {
  assert.throws(() => new HeartbeatMonitor({ timeoutMs: 0 }), /got 0/);
  assert.throws(() => new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: 0 }), /got 0/);
  assert.throws(
    () => new HeartbeatMonitor({ timeoutMs: "auto", intervalMultiple: 0.5 }),
    /intervalMultiple must be a finite number >= 1, got 0.5/,
  );
  assert.throws(() => new HeartbeatMonitor({ minTimeoutMs: -1 }), /got -1/);
  assert.throws(() => new HeartbeatMonitor({ longestMultiple: 0 }), /longestMultiple .* got 0/);
});

Deno.test("a kept clock (track, observeBeat) raises what observe raises; none past maxMachines", () => {
  const times = [0, 1000, 2000, 9000, 10_000, 30_000];
  const byName = feed(new HeartbeatMonitor({ timeoutMs: 5000 }), "m1", times);
  const kept = new HeartbeatMonitor({ timeoutMs: 5000, maxMachines: 1 });
  const beat = kept.track("m1", T0 + times[0]!);
  assert.ok(beat);
  const events = times.slice(1).flatMap((t) => kept.observeBeat(beat, "m1", T0 + t));
  assert.deepEqual(events, byName);
  assert.equal(byName.length, 4); // two losses, two restores
  assert.deepEqual(kept.lostSince(), {});
  // The one machine allowed is watched: a second one is not, now or later.
  assert.equal(kept.track("m2", T0), null);
  assert.deepEqual(feed(kept, "m2", [0, 60_000]), []);
});

Deno.test("observeInto appends what observeBeat returns, each with the reading's index", () => {
  // Learned (auto, 20 gaps: the buffer grows once) then lost twice, with repeated and
  // out-of-order times among them: every path of the clock.
  const times = [
    ...Array.from({ length: 21 }, (_, i) => i * 1000),
    20_000,
    19_000,
    60_000,
    61_000,
    500_000,
  ];
  const options = { timeoutMs: "auto" as const, learnIntervals: 20 };
  const returned = new HeartbeatMonitor(options);
  const appended = new HeartbeatMonitor(options);
  const a = returned.track("m1", T0 + times[0]!)!;
  const b = appended.track("m1", T0 + times[0]!)!;
  const expected: { index: number; event: unknown }[] = [];
  const events: { index: number; event: AnomalyEvent }[] = [];
  times.slice(1).forEach((t, i) => {
    for (const event of returned.observeBeat(a, "m1", T0 + t)) expected.push({ index: i, event });
    appended.observeInto(b, "m1", T0 + t, events, i);
  });
  // Learned: 10 × the 1 s median gap; the first loss is found at 60 s, stamped 20 s + 10 s.
  assert.deepEqual(events.map((e) => [e.index, e.event.type, e.event.timestamp]), [
    [22, "HEARTBEAT_LOSS", new Date(T0 + 30_000).toISOString()],
    [22, "HEARTBEAT_RESTORED", new Date(T0 + 60_000).toISOString()],
    [24, "HEARTBEAT_LOSS", new Date(T0 + 71_000).toISOString()],
    [24, "HEARTBEAT_RESTORED", new Date(T0 + 500_000).toISOString()],
  ]);
  assert.deepEqual(events, expected);
  assert.deepEqual(b, a);
});

Deno.test("auto: machines learning at once and one after another share slots; each learns its own", () => {
  // 170 machines. Machines 0-139 start within 9 readings of each other: 70 of them in small
  // slots at once (more than a page holds). Machines 140-169 start one every 7 readings after
  // all those learned (the pages dropped): they take slots others gave back.
  learnTogether(170, (i) => i < 140 ? i >> 4 : 300 + 7 * (i - 140));
});

Deno.test("auto: 4,000 machines learning at once (2,000 of them in small slots at once)", () => {
  // More slots lent at once than the first pool's doubling pages could count: it threw a
  // RangeError at the 1,664th.
  learnTogether(4000, () => 0);
});

/**
 * `machines` machines, learnIntervals 20, of four kinds of gaps (below), machine i's readings
 * starting at step `startOf(i)`: each learns the timeout of its own gaps. Gaps from a fixed
 * pseudo-random sequence; the expected timeout from each machine's sorted gaps.
 */
function learnTogether(machines: number, startOf: (i: number) => number): void {
  const learn = 20;
  const hb = new HeartbeatMonitor({ timeoutMs: "auto", learnIntervals: learn });
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  // By i % 4: varied gaps; all alike (learned without a slot); alike for 7 gaps, then varied
  // (a small slot); alike for all but the last (a full slot, learned at once).
  const alikeFor = [0, learn, 7, learn - 1];
  const gapsOf = Array.from(
    { length: machines },
    (_, i) =>
      Array.from(
        { length: learn },
        (_, k) => k < alikeFor[i % 4]! ? 1500 : 200 + Math.round(random() * 5000) + random(),
      ),
  );
  const clocks = gapsOf.map((_, i) => ({ time: T0 + i * 7000, next: 0, times: [] as number[] }));
  let lastTime = 0;
  for (let step = 0; step <= startOf(machines - 1) + learn; step++) {
    // Machine i's readings begin at step startOf(i): the first one tracks it.
    for (let i = 0; i < machines; i++) {
      const c = clocks[i]!;
      if (step < startOf(i) || c.next > learn) continue;
      if (c.next > 0) c.time += gapsOf[i]![c.next - 1]!;
      assert.deepEqual(hb.observe(`m${i}`, c.time), []);
      c.times.push(c.time);
      lastTime = Math.max(lastTime, c.time);
      c.next++;
    }
  }
  const losses = hb.check(lastTime + 1e9);
  assert.equal(losses.length, machines);
  const lossOf = new Map(losses.map((e) => [e.machine, e]));
  for (let i = 0; i < machines; i++) {
    // The gaps as the monitor sees them: differences of the (rounded) reading times.
    const times = clocks[i]!.times;
    const sorted = times.slice(1).map((t, k) => t - times[k]!).sort((a, b) => a - b);
    assert.equal(sorted.length, learn);
    const timeout = Math.max(10 * sorted[learn >> 1]!, 4 * sorted[learn - 1]!, 2000);
    const loss = lossOf.get(`m${i}`)!;
    assert.equal(loss.threshold, timeout / 1000, `m${i}`);
  }
}
