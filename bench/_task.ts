/**
 * A tree's `start` and `replay` tasks as a bench runs them: their V8 flags and the environment
 * their command line sets, read from the tree's deno.json, so that a bench measures what a user
 * of the task gets (mqtt_peers_bench.ts, live_alloc.ts, replay_ab.ts).
 * @module
 */
import { join } from "node:path";

/**
 * The command line of `root`'s deno.json task.
 *
 * @example
 * ```ts
 * taskCommand(".", "replay"); // "deno run --v8-flags=… main.ts replay"
 * ```
 */
export function taskCommand(root: string, task: "start" | "replay"): string {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const entry = config.tasks?.[task];
  return typeof entry === "string" ? entry : entry?.command ?? "";
}

/**
 * The `--v8-flags=…` of `root`'s deno.json task (as `deno task start` / `replay` run the engine),
 * so that the peak RSS and CPU are what a user of the task sees; none if the task has none.
 *
 * @example
 * ```ts
 * taskV8Flags(".", "start"); // ["--v8-flags=--heap-growing-percent=50,…"]
 * ```
 */
export function taskV8Flags(root: string, task: "start" | "replay"): string[] {
  const flag = /--v8-flags=\S+/.exec(taskCommand(root, task));
  return flag ? [flag[0]] : [];
}

/**
 * The `NAME=value` words before `deno` in `root`'s task (`MALLOC_ARENA_MAX=2 deno run …`: the
 * task's shell puts them in the engine's environment), for the same reason as its V8 flags.
 *
 * @example
 * ```ts
 * taskEnv(".", "start"); // { MALLOC_ARENA_MAX: "2" } for "MALLOC_ARENA_MAX=2 deno run …"
 * ```
 */
export function taskEnv(root: string, task: "start" | "replay"): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of taskCommand(root, task).trim().split(/\s+/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(word);
    if (!m) break;
    env[m[1]!] = m[2]!;
  }
  return env;
}
