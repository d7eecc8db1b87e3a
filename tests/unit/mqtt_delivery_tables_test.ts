import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  AckQueue,
  PendingDeliveries,
  SEEN,
  SeenDeliveries,
} from "../../engine/sources/mqtt/delivery_tables.ts";

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

Deno.test("SeenDeliveries.load: a message read partly before a restart keeps what its first part wrote", () => {
  /** [state, start, end] of packet id `id`. */
  const of = (seen: SeenDeliveries, id: number) => [seen.state(id), seen.start(id), seen.end(id)];
  // Run 1 journaled id 3 (hash 9, 5 readings) on lines 0…4 and id 4 on line 5; the restart cut
  // the log at 3 lines: id 3 partly written (3 of 5), id 4 not at all.
  const run1 = [3, 9, 0, 5, 4, 8, 5, 1];
  const seen2 = new SeenDeliveries();
  seen2.load(run1, 3);
  assertEquals(of(seen2, 3), [SEEN.partial, 0, 5]); // a redelivery skips 3 - 0 = 3 readings
  assertEquals(seen2.state(4), SEEN.none);
  // Run 2 read id 4 again (line 3) and more (lines 4…9), then id 3's last 2 readings, journaled on
  // lines 10…11; it was killed before they were written: the log holds 10 lines.
  const run2 = [...run1, 4, 8, 3, 1, 5, 7, 4, 6, 3, 9, 10, 2];
  const seen3 = new SeenDeliveries();
  seen3.load(run2, 10);
  // Still the first 3 of id 3's readings (not 10 - 0 = 10, "whole"): skip 10 - 7 = 3.
  assertEquals(seen3.state(3), SEEN.partial);
  assertEquals(10 - seen3.start(3), 3);
  assertEquals(of(seen3, 4), [SEEN.whole, 3, 4]);
  // Its rest half written (line 10 of 10…11): skip 3 + 1.
  const seen3b = new SeenDeliveries();
  seen3b.load(run2, 11);
  assertEquals(11 - seen3b.start(3), 4);
  // All written: whole, acknowledged once line 12 is committed.
  const seen3c = new SeenDeliveries();
  seen3c.load(run2, 12);
  assertEquals(of(seen3c, 3), [SEEN.whole, 10, 12]);
  // The same payload again under id 3 later (as many readings as the first: a new message), not
  // written: forgotten, its redelivery read whole.
  const seen4 = new SeenDeliveries();
  seen4.load([...run2, 3, 9, 12, 5], 12);
  assertEquals(seen4.state(3), SEEN.none);
});

Deno.test("PendingDeliveries: records in order past its first buffer, cleared for reuse", () => {
  const pending = new PendingDeliveries();
  const expected: number[] = [];
  for (let i = 0; i < 3000; i++) {
    pending.push(i % 65535 + 1, 4294967295 - i, 2 ** 40 + i, i % 3);
    expected.push(i % 65535 + 1, 4294967295 - i, 2 ** 40 + i, i % 3);
  }
  assertEquals(pending.length, 3000);
  assertEquals(Array.from(pending.view()), expected);
  pending.clear();
  assertEquals(pending.length, 0);
  pending.push(7, 8, 9, 10);
  assertEquals(Array.from(pending.view()), [7, 8, 9, 10]);
});
