/**
 * Read costs of the history store, a tree's against this one's: one machine with four channels
 * of N readings (default 100,000) written as a live engine writes them, in flushes of
 * PER_FLUSH readings (default 20: a stream's chunk of a flush under the MQTT flood; 1 is a 1 Hz
 * plant flushed every second, the live shape of most streams), into a file on /dev/shm; then
 * the mean ms of `/history` last 1,000 and last 100, all, a one-hour range, `/analytics` over
 * everything and over one hour, and the machine check, and the file's size. One process per
 * tree (the store of TREE's engine/sinks/history/history_store.ts), run one after the other:
 *
 *   deno run -A bench/history_read_probe.ts [TREE=.] [N=100000] [PER_FLUSH=20]
 *
 * e.g. `for t in /work/before12 .; do deno run -A bench/history_read_probe.ts $t; done`.
 * @module
 */
import { join, resolve } from "node:path";

const tree = resolve(Deno.args[0] ?? ".");
const N = Number(Deno.args[1] ?? 100_000);
const PER_FLUSH = Number(Deno.args[2] ?? 20);
const { HistoryStore } = await import(join(tree, "engine/sinks/history/history_store.ts"));
const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "vigil-read-probe-" });
try {
  const store = new HistoryStore({ path: join(dir, "history.sqlite") });
  const T0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < N; i += PER_FLUSH) {
    const batch = [];
    for (let k = i; k < Math.min(N, i + PER_FLUSH); k++) {
      batch.push({
        timestamp: T0 + k * 1000,
        machine: "m1",
        status: null,
        channels: { a: Math.sin(k) * 10 + 50, b: k % 7, c: 1, d: 2 },
      });
    }
    store.readings(batch);
    store.flush();
  }
  const time = (name: string, f: () => unknown, reps = 5) => {
    f(); // once untimed: statements prepared, code compiled
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) f();
    console.log(`${name}: ${((performance.now() - t0) / reps).toFixed(2)} ms`);
  };
  const q = { machine: "m1", channel: "a" };
  time("history last 1000", () => store.history({ ...q, last: 1000 }));
  time("history last 100", () => store.history({ ...q, last: 100 }));
  time(`history all (${N})`, () => store.history(q), 2);
  time("history 1 h range", () => store.history({ ...q, from: T0 + 50_000e3, to: T0 + 53_600e3 }));
  time("analytics all", () => store.analytics(q), 2);
  time("analytics 1 h", () => store.analytics({ ...q, from: T0 + 50_000e3, to: T0 + 53_600e3 }));
  time("hasMachine", () => store.hasMachine("m1"), 20);
  store.close();
  console.log(
    `file: ${(Deno.statSync(join(dir, "history.sqlite")).size / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
