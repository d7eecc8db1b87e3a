/**
 * Whole replays of one file by two or more checkouts, alternated: each round runs every tree
 * once (the order reversed every other round), as the `replay` task does (its `--v8-flags`,
 * read from each tree's deno.json) but with `-A` and a fresh temporary `--data-dir`. Prints
 * each run (in-process seconds as `replay` prints them, user + system CPU, peak RSS), then per
 * tree the medians and ranges, and the median of the per-round ratios to the first tree. On
 * the shared 2-core machine only such same-round ratios mean much.
 *
 *   deno run -A bench/replay_ab.ts ROUNDS FILE TREE_A TREE_B [TREE…]
 *
 * Every tree needs its WASM built (`deno task build:wasm`).
 * @module
 */
import { join, resolve } from "node:path";
import { median, type Sample, timed } from "./_timed.ts";
import { taskV8Flags } from "./_task.ts";

const [roundsArg, fileArg, ...treeArgs] = Deno.args;
const rounds = Number(roundsArg);
if (!(rounds >= 1) || !fileArg || treeArgs.length < 2) {
  console.error("usage: bench/replay_ab.ts ROUNDS FILE TREE_A TREE_B [TREE…]");
  Deno.exit(2);
}
const file = resolve(fileArg);
const trees = treeArgs.map((t) => resolve(t));

const flags = trees.map((tree) => taskV8Flags(tree, "replay"));
const samples: Sample[][] = trees.map(() => []);
const scratch = await Deno.makeTempDir({ prefix: "replay_ab_" });
try {
  for (let r = 0; r < rounds; r++) {
    const order = trees.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const dir = join(scratch, `d${i}`);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      const s = await timed(
        ["deno", "run", ...flags[i]!, "-A", "main.ts", "replay", file, "--data-dir", dir],
        trees[i]!,
      );
      if (!s || !s.summary) throw new Error(`replay failed in ${trees[i]}`);
      samples[i]!.push(s);
      console.log(
        `round ${r + 1} ${trees[i]}: in-process ${s.summary.seconds} s, CPU ${
          s.cpu.toFixed(2)
        } s, wall ${s.wall.toFixed(2)} s, peak RSS ${s.rssMiB.toFixed(1)} MiB`,
      );
    }
  }
} finally {
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
}

const fmt = (xs: number[], d: number) =>
  `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
console.log(
  "\n| tree | in-process s | CPU s | wall s | peak RSS MiB | in-process ÷ first | CPU ÷ first |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
trees.forEach((tree, i) => {
  const s = samples[i]!, base = samples[0]!;
  const inProcess = s.map((x) => x.summary!.seconds!);
  const ratio = (f: (x: Sample) => number) =>
    median(s.map((x, r) => f(x) / f(base[r]!))).toFixed(3);
  console.log(
    `| ${tree} | ${fmt(inProcess, 3)} | ${fmt(s.map((x) => x.cpu), 2)} | ${
      fmt(s.map((x) => x.wall), 2)
    } | ${fmt(s.map((x) => x.rssMiB), 1)} | ${ratio((x) => x.summary!.seconds!)} | ${
      ratio((x) => x.cpu)
    } |`,
  );
});
