/**
 * `replay FILE`: a recorded file through the pipeline as fast as it can (or at `--rate`), then
 * one JSON summary line on stdout.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import {
  ConfigError,
  EngineState,
  openDataDir,
  openRun,
  type PipelineCounts,
  RecordedInput,
  type Sink,
} from "../engine/run_mod.ts";
import { type CliConfig, loggers, runOptions } from "./options.ts";
import { openDeliveringSinks, pacedBySinks, waitForDelivery } from "./sinks.ts";

/** Least time between a replay's checkpoints, ms, when it runs as fast as it can and has no
 * delivering sink (see `OutputSinkOptions.commitEveryMs`): a replay stopped part way writes
 * again about this much of its work (and the batch it was on) when it resumes. */
export const REPLAY_COMMIT_MS = 250;

/**
 * Replays `path` into the configured data directory; resolves with the exit code.
 *
 * @example
 * ```ts
 * import { configOf } from "./options.ts";
 * import { replay } from "./replay.ts";
 *
 * await replay("readings.jsonl", await configOf(["readings.jsonl"], 1));
 * ```
 */
export async function replay(path: string, config: CliConfig): Promise<number> {
  const abs = isAbsolute(path) ? path : resolve(path);
  try {
    if (!(await Deno.stat(abs)).isFile) throw new ConfigError(`replay: ${path} is not a file`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`replay: no such file ${path}`);
    throw e;
  }
  // Checked (a Parquet footer read) before any output is opened.
  const input = await RecordedInput.open(abs, config.format, "replay");
  const started = performance.now();
  const counts = await replayInto(abs, input, config, { deliver: true });
  const seconds = (performance.now() - started) / 1000;
  // Before the summary, which stays the last line.
  console.log(`replay: outputs in ${config.dataDir}`);
  console.log(JSON.stringify({
    readings: counts.readings,
    rows: counts.rows,
    anomalies: counts.anomalies,
    errors: counts.errors,
    seconds: Math.round(seconds * 1000) / 1000,
    readings_per_sec: Math.round(counts.readings / Math.max(seconds, 1e-9)),
    profile: config.profile,
  }));
  return 0;
}

/**
 * The pipeline part of `replay` (also what `eval` runs per file): `input`, opened from the
 * absolute path `abs`, through `openRun` into `config.dataDir`; resolves with the counts. With
 * `deliver`, the delivering sinks of `start` (`--webhook`, `--influx`) get the batches too, and
 * the replay, a batch job, waits for them rather than outrunning their bounded queues: the input
 * is held while one has a backlog, and the end waits until they have delivered everything (or
 * stopped making progress for 5 s; what is left stays spooled for the next run).
 *
 * @example
 * ```ts
 * import { RecordedInput } from "../engine/run_mod.ts";
 * import { configOf } from "./options.ts";
 * import { replayInto } from "./replay.ts";
 *
 * const config = await configOf(["/data/readings.csv"], 1);
 * const input = await RecordedInput.open("/data/readings.csv", config.format, "replay");
 * (await replayInto("/data/readings.csv", input, config)).anomalies;
 * ```
 */
export async function replayInto(
  abs: string,
  input: RecordedInput,
  config: CliConfig,
  options: { deliver?: boolean } = {},
): Promise<PipelineCounts> {
  using _dataDir = await openDataDir(config.dataDir);
  const logs = loggers(config.dataDir);
  // No list of recent anomalies: only the HTTP API's `/anomalies` reads it, and a replay (or
  // eval) serves no API; every event is in anomalies.jsonl and the summary's count. Keeping the
  // default 10,000 held up to 5 MiB more heap through a replay (BENCHMARKS.md, "A cheaper start").
  // Nor a last row per machine (only `/data` reads it): the rows are written as CSV and never
  // built as objects (BENCHMARKS.md, "Rows written where they are read").
  const state = new EngineState({ anomalyCapacity: 0, lastRows: false, lastReadings: false });
  const started = performance.now();
  let sinks: Sink[] = [];
  try {
    sinks = options.deliver ? await openDeliveringSinks(config, logs.processor) : [];
    if (config.profileNote !== null) logs.processor.warn(config.profileNote);
    const run = await openRun({
      ...runOptions(config, state, logs.processor),
      source: `file:${abs}`,
      streamDerived: true,
      sinks,
      // As fast as it can, a replay commits at most every REPLAY_COMMIT_MS rather than after
      // every batch (paced, a batch at a time, as the live engine does).
      commitEveryMs: config.rate === Infinity ? REPLAY_COMMIT_MS : 0,
    });
    const counts = await run.run(
      pacedBySinks(
        input.stream({
          suppressLines: run.resumeLines,
          speed: config.rate,
          onNotice: (note) => logs.processor.warn(`${abs}: ${note}`),
          deviceKeys: config.profile === "device",
        }),
        sinks,
      ),
    );
    await waitForDelivery(sinks, 0);
    const seconds = (performance.now() - started) / 1000;
    logs.processor.info("replay finished", { ...counts, seconds });
    return counts;
  } finally {
    for (const sink of sinks) await sink.close?.();
    for (const l of Object.values(logs)) l.close();
  }
}
