/**
 * The spooled sinks' shared delivery (engine/sinks/_delivery/) with a `send` that is not HTTP, as
 * a sink other than the webhook uses it: batches arrive in order, a throw is retried, a refusal
 * is skipped and counted, and what is left at close is sent by the next open. The webhook's own
 * tests (webhook_test.ts) cover the spool's bound, compaction and crash recovery end to end.
 */
import assert from "node:assert/strict";
import {
  Delivery,
  resolveDeliveryOptions,
  type SendResult,
} from "../../engine/sinks/_delivery/delivery.ts";
import { backoffDelay, retryAfterMs } from "../../engine/sinks/_delivery/backoff.ts";

const target = (dir: string, send: (lines: readonly string[]) => Promise<SendResult>) => ({
  dir,
  key: "http://127.0.0.1:8086/api/v2/write?token=secret",
  target: "http://127.0.0.1:8086/api/v2/write",
  targetField: "url",
  extension: "lp",
  isValid: (line: string) => line.startsWith("m "),
  send,
  sink: "influx",
  label: "InfluxDB write",
  items: "Points",
  noun: "points",
});

const settings = resolveDeliveryOptions({ batchSize: 3, retryBaseMs: 5, retryMaxMs: 20 });

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("delivery: in order, in batches; a throw is retried, a refusal skipped", async () => {
  const dir = await Deno.makeTempDir();
  const got: string[][] = [];
  const script: (SendResult | Error)[] = [new Error("connection reset"), {
    kind: "reject",
    status: 400,
    body: "bad line",
  }];
  const d = await Delivery.open(
    target(dir, (lines) => {
      const next = script.shift();
      if (next instanceof Error) return Promise.reject(next);
      if (next) return Promise.resolve(next);
      got.push([...lines]);
      return Promise.resolve({ kind: "ok" });
    }),
    settings,
  );
  for (let i = 0; i < 7; i++) d.push(`m v=${i}`);
  await until(() => d.queued === 0, "the queue to drain");
  await d.close(Date.now() + 1000);
  // First batch (0–2): thrown (retried), then refused (skipped); then 3–5 and 6.
  assert.deepEqual(got, [["m v=3", "m v=4", "m v=5"], ["m v=6"]]);
  const h = d.health();
  assert.deepEqual(
    [h.sink, h.target, h.delivered, h.rejected, h.failures, h.dropped],
    ["influx", "http://127.0.0.1:8086/api/v2/write", 4, 3, 1, 0],
  );
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(files.length, 2);
  assert.match(files[0]!, /^[0-9a-f]{16}\.0\.lp$/);
  assert.match(files[1]!, /^[0-9a-f]{16}\.ack$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("delivery: what is left at close is sent by the next open", async () => {
  const dir = await Deno.makeTempDir();
  const down = await Delivery.open(
    target(dir, () => Promise.resolve({ kind: "retry", reason: "HTTP 503" })),
    settings,
  );
  for (let i = 0; i < 4; i++) down.push(`m v=${i}`);
  await down.close(Date.now() + 50);
  assert.equal(down.health().queued, 4);
  const got: string[] = [];
  const up = await Delivery.open(
    target(dir, (lines) => {
      got.push(...lines);
      return Promise.resolve({ kind: "ok" });
    }),
    settings,
  );
  await until(() => up.queued === 0, "the spool to drain");
  await up.close(Date.now() + 1000);
  assert.deepEqual(got, ["m v=0", "m v=1", "m v=2", "m v=3"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("backoff: equal jitter under a doubling cap; Retry-After honoured up to the cap", () => {
  const low = { baseMs: 1000, maxMs: 60_000, random: () => 0 };
  const high = { ...low, random: () => 0.999999 };
  assert.deepEqual([1, 2, 3, 7, 8, 100].map((n) => backoffDelay(low, n)), [
    500,
    1000,
    2000,
    30_000,
    30_000,
    30_000,
  ]);
  assert.ok(backoffDelay(high, 1) < 1000 && backoffDelay(high, 1) > 999);
  assert.equal(backoffDelay(low, 1, 10_000), 10_000);
  assert.equal(backoffDelay(low, 1, 600_000), 60_000);
  assert.equal(backoffDelay(low, 3, 10), 2000, "a shorter Retry-After never shortens the backoff");
  assert.equal(retryAfterMs("2"), 2000);
  assert.equal(retryAfterMs("0.08"), 80);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", Date.UTC(2026, 0, 1)), 5000);
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", Date.UTC(2027, 0, 1)), 0);
});
