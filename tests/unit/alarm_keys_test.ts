import assert from "node:assert/strict";
import { AlarmKeys, LIST_MAX } from "../../engine/core/active_alarms.ts";
import { prng } from "../helpers.ts";

Deno.test("AlarmKeys answers as a map of (type, channel) pairs, as a list and past LIST_MAX", () => {
  // Random sets and deletes over pools of types and channels wide enough to pass LIST_MAX
  // entries and come back under it; every answer against a Map keyed by the pair.
  const random = prng(11);
  const types = Array.from({ length: 12 }, (_, i) => `ANOMALY_${i}`);
  const channels: (string | null)[] = [
    null,
    "null",
    ...Array.from({ length: 10 }, (_, i) => `c${i}`),
  ];
  for (let round = 0; round < 20; round++) {
    const keys = new AlarmKeys<number>();
    const model = new Map<string, number>();
    const pair = (t: string, c: string | null) => JSON.stringify([t, c]);
    let peak = 0;
    for (let step = 0; step < 2000; step++) {
      const t = types[Math.floor(random() * types.length)]!;
      const c = channels[Math.floor(random() * channels.length)]!;
      // More sets than deletes in the first half, the other way round in the second.
      const setting = random() < (step < 1000 ? 0.7 : 0.3);
      if (setting) {
        keys.set(t, c, step);
        model.set(pair(t, c), step);
      } else assert.equal(keys.delete(t, c), model.delete(pair(t, c)));
      assert.equal(keys.get(t, c), model.get(pair(t, c)));
      assert.equal(keys.size, model.size);
      peak = Math.max(peak, model.size);
    }
    assert.ok(peak > LIST_MAX, `peak ${peak}`);
    for (const t of types) {
      for (const c of channels) assert.equal(keys.get(t, c), model.get(pair(t, c)));
    }
  }
});
