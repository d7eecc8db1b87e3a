/**
 * The wording of alarm events (engine/detect/event_text.ts), every alarm raised and cleared:
 * users and dashboards read these texts, so a change to them must be deliberate.
 */
import assert from "node:assert/strict";
import {
  adaptiveEvent,
  alarmEvents,
  formatLimit,
  formatValue,
} from "../../engine/detect/event_text.ts";
import { FLAG } from "../../engine/mod.ts";

const ALL = FLAG.HIGH | FLAG.LOW | FLAG.RAPID | FLAG.ZSCORE | FLAG.DEVIATION;
const at = {
  machine: "m1",
  timestamp: "2026-01-01T00:00:00.000Z",
  channel: "temperature",
  value: 95.5,
  delta: 12.345,
  zscore: 4.567,
  deviation: 21.06,
  mean: 78.9,
};
const config = {
  label: "Temperature",
  unit: "°C",
  alert: [10, 80] as [number, number],
  maxDelta: 10,
  maxDeviationPct: 0.25,
};

Deno.test("alarmEvents: raised ones first, each in the order HIGH, LOW, RAPID, ZSCORE, DEVIATION", () => {
  const events = alarmEvents(ALL, ALL, at, config, 3);
  assert.deepEqual(events.map((e) => [e.type, e.severity, e.threshold, e.description]), [
    ["THRESHOLD_BREACH_TEMP", "CRITICAL", 80, "Temperature 95.50°C exceeded threshold of 80.0°C."],
    [
      "THRESHOLD_BREACH_TEMP",
      "CRITICAL",
      10,
      "Temperature 95.50°C fell below threshold of 10.0°C.",
    ],
    [
      "RAPID_CHANGE_TEMP",
      "WARNING",
      10,
      "Temperature changed by 12.35°C to 95.50°C between consecutive readings (limit 10.0°C).",
    ],
    [
      "ZSCORE_TEMP",
      "WARNING",
      3,
      "Temperature 95.50°C has a z-score of 4.57 against its recent normal (threshold 3.0).",
    ],
    [
      "DEVIATION_TEMP",
      "WARNING",
      0.25,
      "Temperature 95.50°C deviates 21.1% from its moving average 78.90°C (limit 0.25%).",
    ],
    ["THRESHOLD_BREACH_TEMP", "INFO", 80, "Temperature 95.50°C back below threshold of 80.0°C."],
    ["THRESHOLD_BREACH_TEMP", "INFO", 10, "Temperature 95.50°C back above threshold of 10.0°C."],
    [
      "RAPID_CHANGE_TEMP",
      "INFO",
      10,
      "Temperature changed by 12.35°C to 95.50°C, back within the limit of 10.0°C between consecutive readings.",
    ],
    [
      "ZSCORE_TEMP",
      "INFO",
      3,
      "Temperature 95.50°C is back within the z-score threshold of 3.0 (z = 4.57).",
    ],
    [
      "DEVIATION_TEMP",
      "INFO",
      0.25,
      "Temperature 95.50°C is back within 0.25% of its moving average 78.90°C.",
    ],
  ]);
  // Every event names the reading: its time, machine, channel and value.
  for (const e of events) {
    assert.deepEqual([e.timestamp, e.machine, e.channel, e.value], [
      at.timestamp,
      "m1",
      "temperature",
      95.5,
    ]);
  }
  assert.deepEqual(alarmEvents(0, 0, at, config, 3), []);
});

Deno.test("alarmEvents: label and code from the channel name when none is configured", () => {
  const [e] = alarmEvents(FLAG.ZSCORE, 0, { ...at, channel: "band_energy_3", value: 0.00044 }, {
    alert: [0, 0.25],
  }, 2.5);
  assert.equal(e?.type, "ZSCORE_BAND_ENERGY_3");
  assert.equal(
    e?.description,
    "Band energy 3 0.000440 has a z-score of 4.57 against its recent normal (threshold 2.5).",
  );
});

Deno.test("alarmEvents and adaptiveEvent: a channel's types and limits are the same text every time (they are built once and kept)", () => {
  const odd = { ...at, channel: "bearing temp-2" };
  const limits = { alert: [-0, 0.25] as [number, number], maxDelta: 1e21, maxDeviationPct: 7 };
  const first = alarmEvents(ALL, ALL, odd, limits, 3);
  const again = alarmEvents(ALL, ALL, odd, limits, 3);
  assert.deepEqual(again, first);
  assert.deepEqual(first.slice(0, 5).map((e) => e.type), [
    "THRESHOLD_BREACH_BEARING_TEMP_2",
    "THRESHOLD_BREACH_BEARING_TEMP_2",
    "RAPID_CHANGE_BEARING_TEMP_2",
    "ZSCORE_BEARING_TEMP_2",
    "DEVIATION_BEARING_TEMP_2",
  ]);
  // Each limit as formatLimit writes it, whether formatted now or kept from the first call.
  assert.match(first[0]!.description, /threshold of 0\.25\./);
  assert.match(first[1]!.description, /threshold of 0\.0\./);
  assert.match(again[2]!.description, /\(limit 1e\+21\)\./);
  assert.match(again[4]!.description, /\(limit 7\.0%\)\./);
  const reading = { ...odd, score: 1.5, level: 20, scale: 1 };
  const detector = { acceptAfter: 720, zSpike: 7 };
  assert.equal(adaptiveEvent("raise", reading, undefined, detector).type, "ANOMALY_BEARING_TEMP_2");
  assert.equal(adaptiveEvent("clear", reading, undefined, detector).type, "ANOMALY_BEARING_TEMP_2");
});

Deno.test("formatValue and formatLimit", () => {
  assert.deepEqual([95.5, 0, 0.00044, -0.05, 0.1].map(formatValue), [
    "95.50",
    "0.00",
    "0.000440",
    "-0.0500",
    "0.10",
  ]);
  assert.deepEqual([80, 0.25, 0.008, 2.5].map(formatLimit), ["80.0", "0.25", "0.008", "2.5"]);
});
