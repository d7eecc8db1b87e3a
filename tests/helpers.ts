/**
 * Helpers shared by the tests that run Vigil as a process: a `deno run main.ts` command, its
 * output, and a started engine (`main.ts start …`, ready once it prints `listening on`); a
 * seeded random generator for test data; and an analysis' rows as objects (`tableRows`).
 * @module
 */
import { join } from "node:path";
import type { AnalysisResult } from "../engine/core/analysis.ts";
import type { ProcessedRow } from "../engine/core/types.ts";
import { FILES } from "../engine/core/files.ts";

/**
 * The rows of an analysis' table, each as its object with its reading's index (through the
 * table's own `index` and `row(i)`, as the engine's readers take them one by one).
 *
 * @example
 * ```ts
 * for (const { index, row } of tableRows(analyzer.analyze(readings).rows)) row.machine;
 * ```
 */
export function tableRows(table: AnalysisResult["rows"]): { index: number; row: ProcessedRow }[] {
  return Array.from(
    { length: table.length },
    (_, i) => ({ index: table.index[i]!, row: table.row(i) }),
  );
}

/** The files a pipeline run writes to `dir` (stream, analysis, anomalies, report, parser
 * errors), by name: what two runs that must agree are compared by. */
export async function outputsOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of [FILES.stream, FILES.analysis, FILES.anomalies, FILES.report, FILES.errors]) {
    out[name] = await Deno.readTextFile(join(dir, name));
  }
  return out;
}

/**
 * mulberry32: a small seeded PRNG (uniform in [0, 1)), so test data is the same on every run.
 *
 * @example
 * ```ts
 * const rand = prng(1);
 * rand(); // the same number on every run
 * ```
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A TCP port on 127.0.0.1 free a moment ago, for a broker or server a test starts.
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The repository's root (where main.ts and deno.json are). */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** How a Vigil process is run. */
export interface VigilOptions {
  /** Permission flags of `deno run`. @default {["-A"]} */
  perms?: readonly string[];
  /**
   * A deno.json task whose command line (`[NAME=value …] deno run <perms> main.ts <command>`) is
   * used instead of `deno run <perms> main.ts`, so that a test runs with the task's own
   * permissions and environment ({@linkcode taskLine}); the arguments follow the task's.
   * @default {none}
   */
  task?: string;
}

/**
 * A deno.json task's `deno` arguments (after `deno`) and the environment that its leading
 * `NAME=value` words set (`MALLOC_ARENA_MAX=2 deno run …`: the task's shell puts them in the
 * engine's environment), so that a test runs the engine as the task does.
 *
 * @example
 * ```ts
 * const { args, env } = await taskLine("start"); // args: ["run", "--v8-flags=…", …, "start"]
 * ```
 */
export async function taskLine(
  task: string,
): Promise<{ args: string[]; env: Record<string, string> }> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const command: string | undefined = config.tasks[task]?.command;
  if (command === undefined) throw new Error(`deno.json has no task ${task}`);
  // Our task command lines have no quoting: a split on spaces is their argument list.
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let m: RegExpExecArray | null;
  while ((m = /^([A-Za-z_]\w*)=(\S*)$/.exec(words[0] ?? "")) !== null) {
    env[m[1]!] = m[2]!;
    words.shift();
  }
  const [deno, ...args] = words;
  if (deno !== "deno") throw new Error(`task ${task} does not start with deno: ${command}`);
  return { args, env };
}

/** The `deno …` arguments of a Vigil process and the environment its task sets. */
async function denoArgs(
  args: readonly string[],
  options: VigilOptions,
): Promise<{ args: string[]; env: Record<string, string> }> {
  if (options.task === undefined) {
    return {
      args: ["run", "--no-prompt", ...(options.perms ?? ["-A"]), "main.ts", ...args],
      env: {},
    };
  }
  const task = await taskLine(options.task);
  return { args: [...task.args, ...args], env: task.env };
}

/**
 * `deno run <perms> main.ts ARGS` (or a task's command line) in the repository, stdout and
 * stderr piped, `NO_COLOR=1`.
 *
 * @example
 * ```ts
 * const out = await (await vigilCommand(["replay", input, "--data-dir", dir])).output();
 * ```
 */
export async function vigilCommand(
  args: readonly string[],
  options: VigilOptions = {},
): Promise<Deno.Command> {
  const command = await denoArgs(args, options);
  return new Deno.Command(Deno.execPath(), {
    args: command.args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...command.env },
  });
}

/** What a finished Vigil process printed. */
export interface VigilOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main.ts ARGS` to its end; resolves with its exit code and decoded output.
 *
 * @example
 * ```ts
 * const { code, stderr } = await runVigil(["train", "--input", "x.csv"]);
 * assert.equal(code, 2, stderr);
 * ```
 */
export async function runVigil(
  args: readonly string[],
  options: VigilOptions = {},
): Promise<VigilOutput> {
  const out = await (await vigilCommand(args, options)).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Options of {@linkcode startVigil}. */
export interface StartOptions extends VigilOptions {
  /** How long to wait for the `listening on` line, ms. @default {60000} */
  timeoutMs?: number;
}

/** A running engine started by {@linkcode startVigil}. */
export interface Vigil extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** The API's base URL, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  readonly port: number;
  /** Everything printed so far (stdout is read to its end in the background). */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /**
   * Sends `signal` (unless the process already ended), waits for the exit and for both
   * output streams to end; resolves with the exit status.
   */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `deno run <perms> main.ts start ARGS` (or the `task`'s command line followed by
 * ARGS) and resolves once it prints `listening on http://…/`. Both output streams are read in
 * the background, so the child never blocks on a full pipe. If the process ends or the time
 * runs out first, it is killed and the promise rejects with its output. Stop it with
 * {@linkcode Vigil.stop}; `await using` kills it (SIGKILL) if a test failed before that.
 *
 * @example
 * ```ts
 * await using vigil = await startVigil(["--port", "0", "--data-dir", dir]);
 * const res = await fetch(new URL("/health", vigil.url));
 * assert.equal((await vigil.stop("SIGTERM")).code, 0);
 * ```
 */
export async function startVigil(
  args: readonly string[],
  options: StartOptions = {},
): Promise<Vigil> {
  const command = options.task === undefined ? ["start", ...args] : args;
  const child = (await vigilCommand(command, options)).spawn();
  let out = "";
  let err = "";
  let listening: (url: string) => void;
  const heard = new Promise<string>((resolve) => listening = resolve);
  const read = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  };
  const reading = Promise.all([
    read(child.stdout, (text) => {
      out += text;
      const m = /^listening on (http:\/\/\S+)\r?\n/m.exec(out);
      if (m) listening(m[1]!);
    }),
    read(child.stderr, (text) => err += text),
  ]).catch(() => {});
  let stopped: Promise<Deno.CommandStatus> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const status = await child.status;
      await reading;
      return status;
    })();
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    heard,
    child.status.then(() => null),
    new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs)),
  ]);
  clearTimeout(timer);
  if (url === null) {
    await stop("SIGKILL");
    throw new Error(`vigil start printed no "listening on" line;\nstdout: ${out}\nstderr: ${err}`);
  }
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stdout: () => out,
    stderr: () => err,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop("SIGKILL");
    },
  };
}

/** A socat pty pair started by {@linkcode ptyPair}: write to `dev` (the device's end), read
 * `app` (the engine's). */
export interface PtyPair extends AsyncDisposable {
  readonly dev: string;
  readonly app: string;
  /** Ends socat (SIGTERM) and waits for it. */
  close(): Promise<void>;
}

/**
 * Starts `socat pty,raw,echo=0,link=DIR/dev pty,raw,echo=0,link=DIR/app` and resolves once both
 * links exist (rejects after 10 s, socat ended).
 *
 * @example
 * ```ts
 * await using pty = await ptyPair(await Deno.makeTempDir());
 * // deno task emulate --port pty.dev; deno task start:serial --source serial:${pty.app}
 * ```
 */
export async function ptyPair(dir: string): Promise<PtyPair> {
  const dev = join(dir, "dev"), app = join(dir, "app");
  const socat = new Deno.Command("socat", {
    args: [`pty,raw,echo=0,link=${dev}`, `pty,raw,echo=0,link=${app}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      try {
        socat.kill("SIGTERM");
      } catch { /* already gone */ }
      await socat.status;
    })();
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      await Deno.stat(dev);
      await Deno.stat(app);
      break;
    } catch {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`socat made no pty links ${dev} and ${app} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { dev, app, close, [Symbol.asyncDispose]: close };
}
