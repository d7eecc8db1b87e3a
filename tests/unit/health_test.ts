import assert from "node:assert/strict";
import { type DeliveryStats, EngineState, type Sink } from "../../engine/mod.ts";
import { createApp } from "../../routes/app.ts";

const stats = (target: string, queued: number): DeliveryStats => ({
  sink: "influx",
  label: "InfluxDB write",
  items: "Points",
  target,
  queued,
  delivered: 7,
  dropped: 1,
  rejected: 0,
  failures: 2,
});

Deno.test("GET /health: each delivering sink's queue per target, read at each call", async () => {
  let queued = 5;
  const sinks: Sink[] = [{ health: () => [stats("http://127.0.0.1:8086/vigil", queued)] }, {}];
  const app = createApp(new EngineState(), { sinks });
  const first = await (await app.request("/health")).json();
  assert.deepEqual(first.sinks, [{
    sink: "influx",
    target: "http://127.0.0.1:8086/vigil",
    queued: 5,
    delivered: 7,
    dropped: 1,
    rejected: 0,
    failures: 2,
  }]);
  queued = 0;
  const second = await (await app.request("/health")).json();
  assert.equal(second.sinks[0].queued, 0);
  // Without delivering sinks the list is there, empty.
  assert.deepEqual(
    (await (await createApp(new EngineState()).request("/health")).json()).sinks,
    [],
  );
});
