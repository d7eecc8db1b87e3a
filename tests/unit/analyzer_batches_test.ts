/**
 * The analyzer's answers do not depend on how its input is cut into batches: one batch of 6,000
 * readings (two kernel slices, the first of about 4,000 readings, past the initial size of the
 * walk's reused per-reading buffers), batches of 7 and of 1,000 give the same rows and events,
 * and every row and channel event quotes the values of the reading that made it (the walk reads
 * them from the kernel's input, not from the reading).
 */
import assert from "node:assert/strict";
import {
  Analyzer,
  MACHINE_CHANNELS,
  type Reading,
  ReferenceAdaptiveDetector,
  ReferenceKernel,
} from "../../engine/mod.ts";
import type { AnalysisResult } from "../../engine/core/analysis.ts";
import type { ProcessedRow } from "../../engine/core/types.ts";
import { tableRows } from "../helpers.ts";

const T0 = Date.UTC(2026, 0, 5);
const MACHINES = 40;
const TICKS = 150;

/** 40 machines, one reading a second each, temperature (about 25 °C, under the machine
 * profile's 40 °C alert) and speed; machine 3 reports only its status every 10th tick; machine 5
 * overheats for a while; machine 7 is silent for 20 s; machine 9 reports a warning state for a
 * while; machine 11 overspeeds (past the profile's 2,200 RPM) for a while: so that a breach of
 * the second channel tests the value the walk reads for it. */
function readings(): Reading[] {
  const out: Reading[] = [];
  let seed = 7;
  const noise = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  for (let t = 0; t < TICKS; t++) {
    for (let m = 0; m < MACHINES; m++) {
      if (m === 7 && t >= 60 && t < 80) continue;
      const machine = `m${m}`;
      const timestamp = T0 + t * 1000;
      const warning = m === 9 && t >= 90 && t < 110;
      const status = warning ? "WARNING_TEMP" : t % 50 === 49 ? "PAUSED" : "RUNNING";
      if (m === 3 && t % 10 === 0) {
        out.push({ timestamp, machine, status, channels: {} });
        continue;
      }
      const hot = m === 5 && t >= 100 && t < 120 ? 40 : 0;
      const fast = m === 11 && t >= 70 && t < 85 ? 900 : 0;
      out.push({
        timestamp,
        machine,
        status,
        channels: { temperature: 25 + m / 10 + hot + noise(), speed: 1500 + fast + 20 * noise() },
      });
    }
  }
  return out;
}

/** An {@linkcode AnalysisResult} with its rows as objects. */
type Analysed = Omit<AnalysisResult, "rows"> & { rows: { index: number; row: ProcessedRow }[] };

/** The rows and events of `input` analysed in batches of `size`, with the readings' indices
 * in the whole input. */
function analyse(
  input: readonly Reading[],
  size: number,
  maxStreams = 256,
  batchCapacity = 8192,
  release = false,
): Analysed {
  const analyzer = newAnalyzer(maxStreams, batchCapacity);
  const all: Analysed = { rows: [], events: [], rejected: [] };
  for (let from = 0; from < input.length; from += size) {
    const result = analyzer.analyze(input.slice(from, from + size));
    for (const r of tableRows(result.rows)) all.rows.push({ index: from + r.index, row: r.row });
    for (const e of result.events) all.events.push({ index: from + e.index, event: e.event });
    for (const r of result.rejected) all.rejected.push({ ...r, index: from + r.index });
    // As the pipeline's writer does once it wrote the batch: the next batch reuses its table.
    if (release) result.release?.();
  }
  return all;
}

function newAnalyzer(maxStreams = 256, batchCapacity = 8192): Analyzer {
  return new Analyzer(new ReferenceKernel({ maxStreams, batchCapacity }), {
    channels: MACHINE_CHANNELS,
    processingIntervalMs: 5000,
    heartbeatTimeoutMs: 5000,
    deviceStatus: true,
    adaptive: new ReferenceAdaptiveDetector({ maxStreams: 256, batchCapacity: 8192 }),
  });
}

Deno.test("analyzer: the same rows and events however the readings are cut into batches", () => {
  const input = readings();
  const whole = analyse(input, input.length);
  // The input raises what the test means to compare: alarms, device states, a heartbeat loss.
  const types = new Set(whole.events.map((e) => e.event.type));
  const wanted = [
    "THRESHOLD_BREACH_TEMP",
    "THRESHOLD_BREACH_SPEED",
    "DEVICE_STATUS",
    "HEARTBEAT_LOSS",
  ];
  for (const type of wanted) {
    assert.ok(types.has(type), `no ${type} in ${[...types].join(", ")}`);
  }
  assert.equal(whole.rejected.length, 0);
  assert.ok(whole.rows.length > MACHINES * TICKS / 5 - MACHINES);
  for (const size of [7, 1000]) assert.deepEqual(analyse(input, size), whole, `batches of ${size}`);
});

Deno.test("analyzer: readings refused for want of streams are the same however the batches are cut", () => {
  const input = readings();
  // 51 streams: 25 machines of two channels, then the 26th's temperature fits and its speed
  // does not, so a reading is refused in the middle of its channels.
  const whole = analyse(input, input.length, 51);
  assert.ok(whole.rejected.length > 0);
  assert.ok(whole.rows.length > 0);
  for (const size of [7, 1000]) {
    assert.deepEqual(analyse(input, size, 51), whole, `batches of ${size}`);
  }
});

Deno.test("analyzer: the same rows and events however the kernel's slices are cut, a slice filling within a reading", () => {
  const input = readings();
  const whole = analyse(input, input.length);
  // Slices of 101 and 7 values: odd, so the reading at each slice's end that has no room for its
  // second value goes to the next slice whole; 2 is exactly one reading of two channels.
  for (const capacity of [101, 7, 2]) {
    assert.deepEqual(analyse(input, input.length, 256, capacity), whole, `slices of ${capacity}`);
    assert.deepEqual(analyse(input, 1000, 256, capacity), whole, `batches, slices of ${capacity}`);
  }
  const refused = analyse(input, input.length, 51);
  assert.deepEqual(analyse(input, input.length, 51, 101), refused, "refused, slices of 101");
});

Deno.test("analyzer: a reading with more channel values than a kernel slice is refused, naming the capacity", () => {
  const input = readings();
  const wide: Reading = {
    timestamp: T0 + 3000,
    machine: "wide",
    status: "RUNNING",
    channels: { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 },
  };
  // At 200 readings: after a slice's first reading, so that the slice before it is cut first.
  const withWide = [...input.slice(0, 200), wide, ...input.slice(200)];
  const got = analyse(withWide, withWide.length, 256, 7);
  assert.deepEqual(got.rejected, [{
    index: 200,
    error: "more than 7 channel values in one reading: the kernel's batch capacity",
  }]);
  // The others as if it were not there (their indexes past it one higher).
  const shift = (i: number) => i < 200 ? i : i + 1;
  const whole = analyse(input, input.length);
  assert.deepEqual(got.rows, whole.rows.map((r) => ({ ...r, index: shift(r.index) })));
  assert.deepEqual(got.events, whole.events.map((e) => ({ ...e, index: shift(e.index) })));
});

Deno.test("analyzer: rows and channel events quote the values of the reading that made them", () => {
  const input = readings();
  const { rows, events } = analyse(input, input.length);
  let quoted = 0;
  for (const { index, row } of rows) {
    const r = input[index]!;
    assert.equal(row.machine, r.machine);
    assert.deepEqual(Object.keys(row.channels), Object.keys(r.channels));
    for (const [name, value] of Object.entries(r.channels)) {
      assert.equal(row.channels[name]!.current, value, `${r.machine} ${name} at ${index}`);
      quoted++;
    }
  }
  assert.ok(quoted > 2000);
  const quotedChannels = new Set<string>();
  for (const { index, event } of events) {
    if (event.channel === null) continue;
    const r = input[index]!;
    assert.equal(event.value, r.channels[event.channel], `${event.type} at ${index}`);
    quotedChannels.add(event.channel);
  }
  // Both channels: the second one's value comes from the kernel input one entry further on.
  assert.deepEqual([...quotedChannels].sort(), ["speed", "temperature"]);
});

Deno.test("analyzer: a released result's row table serves a later batch; rows read from it before stay", () => {
  const input = readings();
  const whole = analyse(input, input.length);
  for (const size of [7, 1000]) {
    assert.deepEqual(analyse(input, size, 256, 8192, true), whole, `batches of ${size}, released`);
  }
  const analyzer = newAnalyzer();
  const a = analyzer.analyze(input.slice(0, 1000));
  assert.ok(a.rows.length > 0);
  const row = a.rows.row(0);
  const copy = structuredClone(row);
  a.release!();
  a.release!(); // a second release gives nothing back twice
  const b = analyzer.analyze(input.slice(1000, 2000));
  assert.equal(b.rows, a.rows, "the table was reused");
  const c = analyzer.analyze(input.slice(2000, 3000));
  assert.notEqual(c.rows, b.rows, "a table in use was handed out again");
  assert.deepEqual(row, copy, "a row object built before the release changed");
  // An unreleased result keeps its table.
  const d = analyzer.analyze(input.slice(3000, 4000));
  assert.notEqual(d.rows, c.rows);
});
