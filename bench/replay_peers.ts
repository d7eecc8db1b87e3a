/**
 * Vigil against the peers a user would pick instead, side by side in one run, whole processes:
 *
 * - `deno task replay` of one generated 1,000,000-reading JSONL file of 1,000 machines (with the
 *   engine's in-process figure from its summary line), the plain CPython stream operator
 *   (bench/python_operator.py) and the pandas batch job (bench/pandas_replay.py) on that file;
 * - `deno task score` of 200,000 records × 8 features with a 100-tree forest against
 *   scikit-learn's whole process (bench/score_sklearn.py: read, score_samples, write).
 *
 * Rounds are interleaved (each round runs every case once), and each case reports the median
 * wall time, CPU seconds (user + system) and peak RSS (`/usr/bin/time`'s maximum resident set
 * size), then the ratios. Python is Debian's /usr/bin/python3 (python3-pandas, python3-sklearn);
 * a case whose interpreter or module is missing is reported as skipped. Inputs go to bench/out/
 * (gitignored). Not part of `deno task bench` (one round takes minutes).
 *
 *   deno task build:wasm && deno run -A bench/replay_peers.ts [ROUNDS=3] [READINGS=1000000]
 * @module
 */
import { join } from "node:path";
import { writeReadings } from "./gen_readings.ts";
import { median, type Sample, timed } from "./_timed.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = join(ROOT, "bench/out");
const PY = "/usr/bin/python3";

async function pythonHas(modules: string): Promise<boolean> {
  try {
    return (await new Deno.Command(PY, { args: ["-c", `import ${modules}`] }).output()).success;
  } catch {
    return false;
  }
}

const rounds = Number(Deno.args[0] ?? 3);
const readings = Number(Deno.args[1] ?? 1_000_000);
await Deno.mkdir(OUT, { recursive: true });
const input = join(OUT, `peers_${readings}.jsonl`);
try {
  await Deno.stat(input);
} catch {
  await writeReadings(input, readings, 1000);
}
const scoreDir = join(OUT, "peers_score");
const hasPandas = await pythonHas("pandas");
const hasSklearn = await pythonHas("sklearn, pandas");
if (hasSklearn) {
  try {
    await Deno.stat(join(scoreDir, "input.csv"));
  } catch {
    const ok = await timed([PY, "bench/score_sklearn.py", "prepare", scoreDir, "200000"]);
    if (!ok) throw new Error("score_sklearn.py prepare failed");
  }
}

/** `base`: where the case's output directory goes (`deno task replay` may write only under its
 * tree's ./data). */
type Case = { name: string; run: (dir: string) => string[] | null; base?: string };

/** `deno task replay` and `deno task score` of the checkout `tree`, named with `suffix`. */
function vigilCases(tree: string, suffix: string): Case[] {
  const task = (
    name: string,
    ...args: string[]
  ) => ["deno", "task", "--config", join(tree, "deno.json"), name, ...args];
  return [
    {
      name: `deno task replay${suffix}`,
      base: join(tree, "data"),
      run: (dir) => task("replay", input, "--data-dir", dir),
    },
    {
      name: `deno task score${suffix}`,
      run: (dir) =>
        hasSklearn
          ? task(
            "score",
            "--model",
            join(scoreDir, "model.json"),
            "--input",
            join(scoreDir, "input.csv"),
            "--out",
            join(dir, "scores.csv"),
          )
          : null,
    },
  ];
}

// BEFORE_TREE=DIR adds `deno task replay` and `score` run in another checkout (its WASM built),
// interleaved with the rest: before/after figures from one run.
const before = Deno.env.get("BEFORE_TREE");
const cases: Case[] = [
  ...(before ? vigilCases(before, " (BEFORE_TREE)") : []),
  ...vigilCases(ROOT, ""),
  { name: "Python operator", run: (dir) => ["python3", "bench/python_operator.py", input, dir] },
  {
    name: "pandas batch",
    run: (dir) => hasPandas ? [PY, "bench/pandas_replay.py", input, dir] : null,
  },
  {
    name: "scikit-learn score",
    run: (dir) =>
      hasSklearn
        ? [
          PY,
          "bench/score_sklearn.py",
          "score",
          join(scoreDir, "model.pkl"),
          join(scoreDir, "input.csv"),
          join(dir, "scores.csv"),
        ]
        : null,
  },
];

const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    await Deno.mkdir(c.base ?? OUT, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: c.base ?? OUT, prefix: "peers_" });
    try {
      const cmd = c.run(dir);
      if (!cmd) continue;
      const s = await timed(cmd);
      if (s) samples.get(c.name)!.push(s);
      console.error(`round ${r + 1}: ${c.name}: ${JSON.stringify(s)}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}

const row = (name: string) => {
  // A case that was not run (the BEFORE_TREE one without that variable) has no samples.
  const s = samples.get(name);
  if (!s?.length) return null;
  return {
    wall: median(s.map((x) => x.wall)),
    cpu: median(s.map((x) => x.cpu)),
    rss: median(s.map((x) => x.rssMiB)),
    inProcess: s[0]!.summary?.readings_per_sec !== undefined
      ? median(s.map((x) => x.summary!.readings_per_sec!))
      : null,
  };
};
console.log(`${readings} readings of 1,000 machines; ${rounds} interleaved rounds, medians`);
console.log("| case | wall s | CPU s | peak RSS MiB | readings/s (wall) |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const c of cases) {
  const x = row(c.name);
  if (!x) {
    console.log(`| ${c.name} | skipped | | | |`);
    continue;
  }
  const perSec = c.name.includes("score") ? "" : Math.round(readings / x.wall).toLocaleString();
  console.log(
    `| ${c.name} | ${x.wall.toFixed(2)} | ${x.cpu.toFixed(2)} | ${x.rss.toFixed(0)} | ${perSec} |`,
  );
}
const b = row("deno task replay (BEFORE_TREE)");
const v = row("deno task replay"), py = row("Python operator"), pd = row("pandas batch");
if (v?.inProcess) console.log(`engine in-process: ${v.inProcess.toLocaleString()} readings/s`);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
if (v && py) {
  console.log(
    `replay vs Python operator: wall ${ratio(py.wall, v.wall)}, CPU ${ratio(py.cpu, v.cpu)}`,
  );
}
if (v && pd) {
  console.log(
    `replay vs pandas batch: wall ${ratio(pd.wall, v.wall)}, CPU ${ratio(pd.cpu, v.cpu)}`,
  );
}
if (v && b) {
  console.log(
    `replay, this tree vs BEFORE_TREE: wall ${ratio(b.wall, v.wall)}, CPU ${ratio(b.cpu, v.cpu)}`,
  );
  if (b.inProcess && v.inProcess) {
    console.log(
      `in-process: ${ratio(v.inProcess, b.inProcess)} (${b.inProcess.toLocaleString()} before)`,
    );
  }
}
const ds = row("deno task score"), sk = row("scikit-learn score");
if (ds && sk) {
  console.log(
    `score vs scikit-learn: wall ${ratio(sk.wall, ds.wall)}, CPU ${ratio(sk.cpu, ds.cpu)}`,
  );
}
