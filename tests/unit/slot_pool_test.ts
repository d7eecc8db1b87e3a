import assert from "node:assert/strict";
import { PAGE_BYTES, type SlotHolder, SlotPool } from "../../engine/detect/_slot_pool.ts";

const holder = (): SlotHolder => ({ slot: -1, base: 0, end: 0 });

Deno.test("slots lent at once never overlap, across pages of every size", () => {
  for (const size of [1, 16, 400, PAGE_BYTES / 8 + 1]) {
    const pool = new SlotPool(size);
    const holders = Array.from({ length: 300 }, holder);
    const pages = holders.map((h) => pool.lend(h));
    const seen = new Map<Float64Array, number[]>();
    holders.forEach((h, i) => {
      assert.equal(h.end - h.base, size);
      assert.ok(h.end <= pages[i]!.length);
      const taken = seen.get(pages[i]!) ?? [];
      for (const b of taken) assert.ok(h.end <= b || h.base >= b + size, `size ${size}`);
      taken.push(h.base);
      seen.set(pages[i]!, taken);
    });
    // One page per slot when a slot is larger than a page: none of PAGE_BYTES holds it.
    assert.equal(pool.pages, Math.ceil(300 / Math.max(1, Math.floor(PAGE_BYTES / (8 * size)))));
  }
});

Deno.test("a page is dropped with its last slot lent: what is held follows what is lent", () => {
  // 1,500 slots of 400 numbers (2 a page), then all but one given back: one page is held, not
  // the 750 of the peak (a machine that stops mid-learning holds its own page only).
  const pool = new SlotPool(400);
  const holders = Array.from({ length: 1500 }, holder);
  for (const h of holders) pool.lend(h);
  assert.equal(pool.pages, 750);
  for (const h of holders.slice(1)) pool.giveBack(h);
  assert.equal(pool.pages, 1);
  assert.equal(holders[1]!.slot, -1);
  // Slots given back are lent again, a page made again for them when it was dropped.
  const again = holder();
  const page = pool.lend(again);
  page[again.base] = 1;
  assert.equal(pool.pages, 2);
  pool.giveBack(again);
  pool.giveBack(holders[0]!);
  assert.equal(pool.pages, 0);
});
