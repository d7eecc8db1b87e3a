/**
 * Whole processes timed by `/usr/bin/time` (wall, user + system CPU, peak RSS) and the median:
 * what the benches comparing commands side by side share (`replay_peers.ts`, `replay_ab.ts`).
 * @module
 */

/** The checkout this file is in. */
const ROOT = new URL("..", import.meta.url).pathname;

/** One timed process. */
export interface Sample {
  wall: number;
  /** User + system CPU seconds. */
  cpu: number;
  rssMiB: number;
  /** The process's own JSON summary line, when it prints one. */
  summary: Record<string, number> | null;
}

/**
 * Runs `cmd` under /usr/bin/time in `cwd` (the checkout by default); null if it failed (its
 * stderr is printed).
 *
 * @example
 * ```ts
 * const s = await timed(["deno", "run", "-A", "main.ts", "replay", "r.jsonl"]);
 * s?.cpu; // user + system seconds
 * ```
 */
export async function timed(cmd: string[], cwd = ROOT): Promise<Sample | null> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "TIME %e %U %S %M", ...cmd],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const m = /TIME (\S+) (\S+) (\S+) (\d+)/.exec(stderr);
  if (!out.success || !m) {
    console.error(`failed: ${cmd.join(" ")}\n${stderr.slice(-2000)}`);
    return null;
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  let summary: Record<string, number> | null = null;
  try {
    summary = JSON.parse(lines.at(-1) ?? "");
  } catch { /* no summary line */ }
  return {
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMiB: Number(m[4]) / 1024,
    summary,
  };
}

/**
 * The median of `xs` (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
