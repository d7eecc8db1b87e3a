/**
 * The input side of `replay` alone (a JSONL file read, split and parsed by `FileSource`, each
 * batch's `stream_output.jsonl` lines built and released as the writer does), for several trees
 * in one process, alternated round by round: the trees share the process's state and the
 * machine's load at each moment, so that a change of a tenth shows through a shared machine's
 * noise, where whole processes alternated need many rounds. Prints per tree the CPU ms (user +
 * system) of each round, their minimum and median.
 *
 *   deno run -A bench/input_side.ts FILE ROUNDS TREE...
 *
 * Each TREE is a checkout whose `engine/mod.ts` is imported (its WASM built); the first round of
 * each tree includes its compilation and is counted like the others.
 */
import process from "node:process";
import { resolve } from "node:path";
import type { FileSource as FileSourceType } from "../engine/mod.ts";

const [file, roundsArg, ...trees] = Deno.args;
const rounds = Number(roundsArg);
if (!file || !Number.isInteger(rounds) || rounds < 1 || trees.length === 0) {
  console.error("usage: bench/input_side.ts FILE ROUNDS TREE...");
  Deno.exit(2);
}
const engines: (typeof import("../engine/mod.ts"))[] = [];
for (const tree of trees) engines.push(await import(`file://${resolve(tree)}/engine/mod.ts`));

const cpu: number[][] = trees.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < trees.length; k++) {
    const source: FileSourceType = new engines[k]!.FileSource(file, { format: "json" });
    const c0 = process.cpuUsage();
    for await (const batch of source.readable) batch.text?.release();
    const c = process.cpuUsage(c0);
    cpu[k]!.push(Math.round((c.user + c.system) / 1000));
  }
}
for (let k = 0; k < trees.length; k++) {
  const sorted = [...cpu[k]!].sort((a, b) => a - b);
  console.log(JSON.stringify({
    tree: trees[k],
    cpu_ms: cpu[k],
    min: sorted[0],
    median: sorted[Math.floor(sorted.length / 2)],
  }));
}
