/**
 * The anomaly-ratio rings (engine/sinks/history/flag_ring.ts) against a plain model of them: the
 * ratio of each stream's last flags, a ring restarted from stored flags, and eviction of the
 * oldest started ring past `maxStreams` (a machine's other channels keep theirs).
 */
import assert from "node:assert/strict";
import { FlagRings } from "../../engine/sinks/history/flag_ring.ts";
import { prng } from "../helpers.ts";

/** The model: each stream's flags as a list, streams in the order they were started. */
class Model {
  streams = new Map<string, (0 | 1)[]>();
  constructor(readonly size: number, readonly maxStreams: number) {}
  has(m: string, c: string): boolean {
    return this.streams.has(`${m}/${c}`);
  }
  start(m: string, c: string, flags: (0 | 1)[]): void {
    while (this.streams.size >= this.maxStreams) {
      this.streams.delete(this.streams.keys().next().value!);
    }
    this.streams.set(`${m}/${c}`, flags.slice(-this.size));
  }
  ratio(m: string, c: string, flag: 0 | 1): number {
    if (!this.has(m, c)) this.start(m, c, []);
    const f = this.streams.get(`${m}/${c}`)!;
    f.push(flag);
    if (f.length > this.size) f.shift();
    return f.filter((x) => x === 1).length / f.length;
  }
}

Deno.test("flag rings: ratios, restarts and eviction as the model, over random streams", () => {
  const random = prng(7);
  for (const maxStreams of [1, 3, 50]) {
    const rings = new FlagRings(5, maxStreams);
    const model = new Model(5, maxStreams);
    for (let i = 0; i < 5000; i++) {
      const m = `m${Math.floor(random() * 4)}`;
      const c = ["a", "b", "c"][Math.floor(random() * 3)]!;
      assert.equal(rings.has(m, c), model.has(m, c), `has ${m} ${c} at ${i}`);
      if (!model.has(m, c) && random() < 0.5) {
        const stored = Array.from(
          { length: Math.floor(random() * 8) },
          () => random() < 0.3 ? 1 : 0,
        ) as (0 | 1)[];
        rings.start(m, c, stored);
        model.start(m, c, stored);
      }
      const flag = random() < 0.2 ? 1 : 0;
      assert.equal(rings.ratio(m, c, flag), model.ratio(m, c, flag), `ratio ${m} ${c} at ${i}`);
    }
  }
});

Deno.test("flag rings: evicting one channel of a machine keeps its other channels' rings", () => {
  const rings = new FlagRings(4, 2);
  rings.start("m1", "a", [1]);
  rings.start("m1", "b", [1, 1]);
  rings.start("m2", "a", []); // drops m1/a, the oldest
  assert.equal(rings.has("m1", "a"), false);
  assert.equal(rings.has("m1", "b"), true);
  assert.equal(rings.ratio("m1", "b", 0), 2 / 3);
});
