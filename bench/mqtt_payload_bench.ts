/**
 * What the MQTT source does with a message's payload before its readings are queued, in-process,
 * on the payloads `bench/mqtt_peers_bench.ts` publishes (100,000 simulator readings of 1,000
 * machines, one JSON reading a message, topic `plant/<machine>/telemetry`): the string path it
 * had up to 3352bfb (the payload decoded, its text hashed for the delivery journal, split into
 * line strings, `createLineParser("json")`, the topic split for the machine) against the byte
 * path (the bytes hashed, `PayloadLines` reading them with `JsonLineScanner`). Both must make the
 * same readings and hashes (checked first).
 *
 *   deno bench -A bench/mqtt_payload_bench.ts
 *
 * Results: BENCHMARKS.md, "Live MQTT payloads read from their bytes".
 * @module
 */
import assert from "node:assert/strict";
import { PayloadLines } from "../engine/formats/payload_lines.ts";
import { createLineParser, formatReading, type Reading } from "../engine/mod.ts";
import { deliveryHash, deliveryHashOfAscii } from "../engine/sources/mqtt/ack_journal.ts";
import { generateReadings } from "../simulator/mod.ts";

const encoder = new TextEncoder();
const MESSAGES = [...generateReadings({
  machines: 1000,
  seed: 42,
  count: 100_000,
  start: Date.UTC(2026, 0, 1),
  intervalMs: 2000,
  faultRate: 0.01,
})].map((r) => ({
  topic: `plant/${r.machine}/telemetry`,
  payload: encoder.encode(formatReading(r)),
}));
const LEVEL = 1;

/** The string path: 3352bfb's `ingest` and `ingestLine` for a JSON payload. */
function stringPath(): { readings: Reading[]; hashes: number } {
  const decoder = new TextDecoder();
  const json = createLineParser("json");
  const readings: Reading[] = [];
  let hashes = 0;
  for (const { topic, payload } of MESSAGES) {
    const text = decoder.decode(payload);
    hashes = (hashes + deliveryHash(topic, text)) >>> 0;
    for (const line of text.split("\n")) {
      const r = json.parse(line);
      if (r === null || typeof r === "string") continue;
      const id = topic.split("/")[LEVEL];
      if (id) r.machine = id;
      readings.push(r);
    }
  }
  return { readings, hashes };
}

/** The byte path: the MQTT source's `ingest` now. */
function bytePath(): { readings: Reading[]; hashes: number } {
  const readings: Reading[] = [];
  let hashes = 0;
  let id = "";
  const lines = new PayloadLines({ format: "auto" }, (r) => {
    if (id) r.machine = id;
    readings.push(r);
  }, () => {});
  for (const { topic, payload } of MESSAGES) {
    hashes = (hashes + deliveryHashOfAscii(topic, payload)) >>> 0;
    id = topic.split("/")[LEVEL] ?? "";
    lines.read(payload);
  }
  return { readings, hashes };
}

const before = stringPath(), after = bytePath();
assert.equal(after.readings.length, MESSAGES.length);
assert.deepEqual(after.readings, before.readings);
assert.equal(after.hashes, before.hashes);

Deno.bench("string path (decode, hash text, JSON.parse), 100k payloads", { baseline: true }, () => {
  stringPath();
});

Deno.bench("byte path (hash bytes, JsonLineScanner), 100k payloads", () => {
  bytePath();
});
