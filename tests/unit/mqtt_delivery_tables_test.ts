import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { AckQueue, SEEN, SeenDeliveries } from "../../engine/sources/mqtt/delivery_tables.ts";

Deno.test("AckQueue: due acknowledgements leave in order across wrap-around and growth", () => {
  const acks = new AckQueue();
  const out: number[] = [];
  // 700 in, 600 out, then 3,000 in: the ring wraps before it grows (1,024 → 2,048 → 4,096).
  for (let i = 0; i < 700; i++) acks.push(i + 1, i);
  acks.shift(acks.countUpTo(599), (id) => out.push(id));
  assertEquals(out.length, 600);
  assertEquals(out.at(-1), 600);
  for (let i = 700; i < 3700; i++) acks.push((i % 65535) + 1, i);
  assertEquals(acks.length, 3100);
  out.length = 0;
  acks.shift(acks.countUpTo(2999.5), (id) => out.push(id));
  assertEquals(out, Array.from({ length: 2400 }, (_, k) => k + 601));
  assertEquals(acks.countUpTo(1e9), 700);
  acks.clear();
  assertEquals(acks.countUpTo(1e9), 0);
});

Deno.test("SeenDeliveries: the latest delivery of an id, lines past 2^32 exact", () => {
  const seen = new SeenDeliveries();
  assertEquals(seen.state(65535), SEEN.none);
  seen.set(65535, 0xffffffff, 2 ** 40, 3, SEEN.partial);
  assertEquals(
    [seen.state(65535), seen.hash(65535), seen.start(65535), seen.end(65535)],
    [SEEN.partial, 0xffffffff, 2 ** 40, 2 ** 40 + 3],
  );
  seen.set(65535, 1, 5, 0, SEEN.whole);
  assertEquals([seen.state(65535), seen.hash(65535), seen.end(65535)], [SEEN.whole, 1, 5]);
});
