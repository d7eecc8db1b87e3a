/**
 * The history store's write path, old against new on the same data: READINGS simulator
 * readings of 1,000 machines (4 channels each) analysed once by the real WASM analyzer into
 * batches of 500 (as the live engine hands them to the store, with their per-reading results),
 * then written by `HistoryStore` of the commit BEFORE (default: the one before the batched
 * writes) and of this tree, each into a fresh SQLite file in a temporary directory, flushing
 * at the default `maxPending` (10,000 entries) as a busy live engine does. Runs alternate
 * (old, new, old, new, …) so that the shared machine's load drifts onto both alike; the CPU
 * time (utime + stime of this process) and wall time of the writes and the final flush are
 * reported per reading, with medians and the old/new ratio. Both files are then checked to hold
 * the same rows (each read through its own tree's store, as the two trees may keep different
 * schemas), and their size (with any journal left beside) is reported.
 *
 * With RATE (readings per second), each store is flushed as its timer would flush it in a live
 * engine taking RATE readings a second: after every `RATE × flushEvery / 1000` readings, with
 * each tree's default `flushEvery` (`FLUSH_EVERY_MS` of its history_store.ts; 500 ms in trees
 * that do not export it). Without RATE a store flushes only when `maxPending` fills, which a
 * live engine over MQTT (about 6,500 readings a second here) does not reach.
 *
 *   deno task build:wasm && deno run -A bench/history_bench.ts [READINGS] [RUNS] [BEFORE] [RATE]
 *
 * Not a `Deno.bench` file (`deno task bench` skips it): it checks out BEFORE with `git archive`.
 * @module
 */
import { join } from "node:path";
import { generateReadings } from "../simulator/mod.ts";
import { Analyzer, type Reading, WasmKernel } from "../engine/mod.ts";

type AnalysisResult = ReturnType<Analyzer["analyze"]>;

const ROOT = new URL("..", import.meta.url).pathname;
const BATCH = 500;

/** What the bench needs of a history store, old or new. */
interface Store {
  results(readings: readonly Reading[], result: AnalysisResult): void;
  flush(): void;
  close(): void;
  history(query: { machine: string; channel: string }): unknown[];
}
type StoreClass = new (options: { path: string }) => Store;

/** A tree's history store and the readings it takes between two flushes (Infinity: it decides). */
interface Contender {
  name: string;
  Store: StoreClass;
  perFlush: number;
}

/** CPU ms (utime + stime) of this process so far. */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** The batches as the live engine makes them, with copies of their per-reading results. */
function batches(count: number): { readings: Reading[]; result: AnalysisResult }[] {
  const readings = [...generateReadings({
    machines: 1000,
    seed: 7,
    count,
    start: Date.UTC(2026, 0, 1),
    intervalMs: 1000,
  })];
  const analyzer = new Analyzer(new WasmKernel(), { readingValues: true });
  const out: { readings: Reading[]; result: AnalysisResult }[] = [];
  for (let i = 0; i < readings.length; i += BATCH) {
    const batch = readings.slice(i, i + BATCH);
    const result = analyzer.analyze(batch);
    const v = result.values!;
    // The analyzer reuses its result arrays from call to call: keep a copy of each batch's.
    out.push({
      readings: batch,
      result: {
        ...result,
        values: {
          count: v.count,
          first: v.first.slice(),
          mean: v.mean.slice(),
          std: v.std.slice(),
          zscore: v.zscore.slice(),
          flags: v.flags.slice(),
          zThreshold: v.zThreshold,
        },
      },
    });
  }
  return out;
}

/** Writes every batch through a new store on a fresh file; CPU and wall ms. */
function write(
  { Store, perFlush }: Contender,
  path: string,
  data: ReturnType<typeof batches>,
): { cpu: number; wall: number } {
  const store = new Store({ path });
  const c0 = cpuMs();
  const t0 = performance.now();
  let unflushed = 0;
  for (const { readings, result } of data) {
    store.results(readings, result);
    unflushed += readings.length;
    if (unflushed >= perFlush) {
      store.flush();
      unflushed = 0;
    }
  }
  store.close();
  return { cpu: cpuMs() - c0, wall: performance.now() - t0 };
}

/** Bytes of the file and of whatever SQLite left beside it (`-journal`, `-wal`, `-shm`). */
function fileBytes(path: string): number {
  let bytes = 0;
  for (const suffix of ["", "-journal", "-wal", "-shm"]) {
    try {
      bytes += Deno.statSync(path + suffix).size;
    } catch {
      // not there
    }
  }
  return bytes;
}

/** Every stored row of the streams of `data`, read through `Store`, one string per row. */
function rows(Store: StoreClass, path: string, data: ReturnType<typeof batches>): string[] {
  const streams = new Set<string>();
  for (const { readings } of data) {
    for (const r of readings) for (const c in r.channels) streams.add(`${r.machine}\0${c}`);
  }
  const store = new Store({ path });
  try {
    return [...streams].sort().flatMap((key) => {
      const [machine, channel] = key.split("\0") as [string, string];
      return store.history({ machine, channel }).map((r) => JSON.stringify(r));
    });
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const count = Number(Deno.args[0] ?? 100_000);
  const runs = Number(Deno.args[1] ?? 3);
  const before = Deno.args[2] ?? "96c3a7f";
  const rate = Deno.args[3] === undefined ? null : Number(Deno.args[3]);
  if (
    !Number.isInteger(count) || count < 1 || !Number.isInteger(runs) || runs < 1 ||
    (rate !== null && !(rate > 0))
  ) {
    console.error(
      `history_bench: READINGS and RUNS must be positive integers and RATE a positive number, ` +
        `got ${Deno.args.join(" ")}`,
    );
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "vigil-history-bench-" });
  try {
    const tree = join(dir, "before");
    await Deno.mkdir(tree);
    const out = await new Deno.Command("sh", {
      args: ["-c", `git archive ${before} engine | tar -x -C ${tree}`],
      cwd: ROOT,
    }).output();
    if (!out.success) throw new Error(`history_bench: git archive ${before} failed`);
    const contender = async (name: string, root: string): Promise<Contender> => {
      const mod = await import(join(root, "engine/sinks/history/history_store.ts"));
      const flushEvery = (mod.FLUSH_EVERY_MS as number | undefined) ?? 500;
      const perFlush = rate === null ? Infinity : Math.max(1, Math.round(rate * flushEvery / 1000));
      const every = rate === null ? "" : `, a flush per ${perFlush} readings`;
      return { name: `${name}${every}`, Store: mod.HistoryStore as StoreClass, perFlush };
    };
    const data = batches(count);
    const contenders = [
      await contender(`before (${before})`, tree),
      await contender("after (this tree)", ROOT),
    ];
    const seen: Record<string, { cpu: number[]; wall: number[]; bytes: number }> = {};
    const pathOf = (run: number, { name }: Contender) =>
      join(dir, `${run}-${name.split(" ")[0]}.sqlite`);
    for (let run = 0; run < runs; run++) {
      for (const c of contenders) {
        const r = write(c, pathOf(run, c), data);
        const s = seen[c.name] ??= { cpu: [], wall: [], bytes: 0 };
        s.cpu.push(r.cpu / count * 1e3);
        s.wall.push(r.wall / count * 1e3);
        s.bytes = fileBytes(pathOf(run, c));
        console.log(
          `${c.name}: ${(r.cpu / count * 1e3).toFixed(1)} µs CPU, ` +
            `${(r.wall / count * 1e3).toFixed(1)} µs wall per reading`,
        );
      }
      const [a, b] = contenders.map((c) => rows(c.Store, pathOf(run, c), data));
      if (a!.length !== b!.length || a!.some((row, i) => row !== b![i])) {
        throw new Error(`history_bench: run ${run}: the two files hold different rows`);
      }
      for (const c of contenders) await Deno.remove(pathOf(run, c));
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    const [o, n] = contenders.map((c) => seen[c.name]!);
    console.log(
      `\n| ${count} readings, ${runs} runs | µs CPU per reading (median) | µs wall | file |`,
    );
    console.log(`| --- | --- | --- | --- |`);
    for (const { name } of contenders) {
      const s = seen[name]!;
      console.log(
        `| ${name} | ${s.cpu.map((x) => x.toFixed(1)).join(", ")} (${med(s.cpu).toFixed(1)}) ` +
          `| ${s.wall.map((x) => x.toFixed(1)).join(", ")} (${med(s.wall).toFixed(1)}) ` +
          `| ${(s.bytes / 2 ** 20).toFixed(1)} MiB |`,
      );
    }
    console.log(
      `| old ÷ new | ${(med(o!.cpu) / med(n!.cpu)).toFixed(2)}× | ` +
        `${(med(o!.wall) / med(n!.wall)).toFixed(2)}× | |`,
    );
    console.log("same rows in both files: yes");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
