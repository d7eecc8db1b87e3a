/**
 * Vigil's command line: `start` (live engine and API) and `replay FILE`. Wiring only: the
 * engine, simulator and routes do the work.
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import {
  type Batch,
  BAUD_RATES,
  type Clock,
  concatStreams,
  ConfigError,
  emulateCommand,
  type EngineConfig,
  EngineControl,
  EngineState,
  EventHub,
  FileLogger,
  FILES,
  FileSource,
  formatReading,
  HistoryStore,
  type Logger,
  Metrics,
  ModelError,
  MqttPublisher,
  MqttSource,
  NatsSource,
  openRun,
  parseFlags,
  parseModel,
  readConfigFile,
  type Reading,
  ReadingBatchStream,
  ReceivedLineBatchStream,
  RecordedInput,
  type RejectedLine,
  resolveConfig,
  type Run,
  scoreCommand,
  type SerialItem,
  SerialSource,
  type Sink,
  systemClock,
  trainCommand,
  WasmIsolationForest,
  WasmVibrationFeatures,
  WebhookSink,
  withHeartbeatTicks,
} from "./engine/mod.ts";
import { createApp } from "./routes/mod.ts";
import {
  MachineSimulator,
  SimulatorSource,
  VibrationSimulator,
  VibrationSource,
} from "./simulator/mod.ts";

const USAGE = `usage: main.ts <command> [flags]
commands:
  start [flags]          live engine: source, pipeline, outputs and the HTTP API
  replay FILE [flags]    process a recorded JSONL, CSV, Parquet, kv or raw.log file (--rate)
  emulate --port PATH    serial device emulator (--scenario, --rate, --seed, --count, --baud, …)
  train --input FILE [--features a,b,c] --out MODEL.json [--seed N] [--trees 100] [--max-samples 256]
  score --model MODEL.json --input FILE [--out FILE]
flags of start and replay: see README.md (--source, --profile, --machines, --seed, --interval,
  --processing-interval, --window, --format, --baud, --data-dir, --host, --port, --config,
  --token, --z-threshold, --model-size, --fault-rate, --heartbeat-timeout, --webhook,
  --simulator-only, --processor-only, --rate max|realtime|N, --partition k/N, --online-model N)`;

/** Runs the CLI; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "start":
        return await start(await configOf(rest, 0));
      case "replay": {
        const { positional } = parseFlags(rest);
        if (positional.length !== 1) throw new ConfigError("replay takes exactly one FILE");
        return await replay(positional[0]!, await configOf(rest, 1));
      }
      case undefined:
      case "help":
      case "--help":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      case "emulate":
        return await emulateCommand(rest);
      case "train":
        return await trainCommand(rest);
      case "score":
        return await scoreCommand(rest);
      default:
        throw new ConfigError(
          `unknown command ${
            JSON.stringify(command)
          }; commands: start, replay, emulate, train, score`,
        );
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`vigil: ${e.message}`);
      return 2;
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      console.error(
        `vigil: ${(e as Error).message}. The deno tasks grant access to ./data only: ` +
          `for another --data-dir or file, run main.ts with deno run and the matching --allow-read/--allow-write`,
      );
      return 2;
    }
    throw e;
  }
}

/** The engine's configuration plus what the CLI loaded for it. */
type CliConfig = EngineConfig & {
  /** The `--model` isolation forest, ready to score; null without `--model`. */
  forest: WasmIsolationForest | null;
};

/** `--model FILE`: read, validated and loaded into WASM; any problem exits 2 naming the file. */
async function loadForest(path: string): Promise<WasmIsolationForest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`bad value for --model: ${JSON.stringify(path)} does not exist`);
    }
    throw e;
  }
  try {
    return new WasmIsolationForest(parseModel(text));
  } catch (e) {
    if (e instanceof ModelError || e instanceof RangeError) {
      throw new ConfigError(`bad value for --model: ${JSON.stringify(path)}: ${e.message}`);
    }
    throw e;
  }
}

async function configOf(args: readonly string[], positionals: number): Promise<CliConfig> {
  const { flags, positional } = parseFlags(args);
  if (positional.length > positionals) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(positional[positionals])}`);
  }
  const file = typeof flags.config === "string" ? await readConfigFile(flags.config) : {};
  const config = resolveConfig(flags, file, { VIGIL_TOKEN: envToken() }, {
    input: positionals === 1 ? positional[0] : undefined,
  });
  if (config.model && config.onlineModel !== null) {
    throw new ConfigError("--model and --online-model exclude each other: pick one");
  }
  const forest = config.model ? await loadForest(config.model) : null;
  if (config.profile === "vibration" && config.simulatorOnly) {
    throw new ConfigError("--profile vibration: --simulator-only is for the machine profile");
  }
  if (config.profile === "device" && config.source.kind === "simulator" && positionals === 0) {
    throw new ConfigError(
      "--profile device: there is no device simulator; use --source serial:PATH, " +
        "--source file:PATH or replay FILE (deno task emulate drives a virtual serial port)",
    );
  }
  if (config.source.kind === "serial" && !BAUD_RATES.includes(config.baud)) {
    throw new ConfigError(
      `bad value for --baud: ${config.baud} (allowed: ${BAUD_RATES.join(", ")})`,
    );
  }
  if (positionals === 1 && config.source.kind !== "simulator" && config.source.kind !== "file") {
    throw new ConfigError(`replay reads its FILE: --source ${config.source.kind} is for start`);
  }
  if (config.partition && config.source.kind !== "nats") {
    throw new ConfigError(
      `--partition ${config.partition.index}/${config.partition.count} applies to --source nats://… only`,
    );
  }
  return { ...config, forest };
}

function envToken(): string | undefined {
  try {
    return Deno.env.get("VIGIL_TOKEN");
  } catch {
    return undefined; // no --allow-env: no token from the environment
  }
}

function loggers(dataDir: string) {
  const logs = join(dataDir, "logs");
  return {
    simulator: new FileLogger(join(logs, "simulator.log"), { component: "simulator" }),
    processor: new FileLogger(join(logs, "processor.log"), { component: "processor" }),
    api: new FileLogger(join(logs, "api.log"), { component: "api", stderr: false }),
  };
}

function runOptions(config: CliConfig, state: EngineState, logger: Logger) {
  return {
    dataDir: config.dataDir,
    state,
    logger,
    processingIntervalMs: config.processingInterval * 1000,
    profile: config.profile,
    heartbeatTimeoutMs: config.heartbeatTimeout === null
      ? undefined
      : config.heartbeatTimeout * 1000,
    channels: config.channels,
    isolationForest: config.forest ?? undefined,
    onlineForest: config.onlineModel === null
      ? undefined
      : { trainSize: config.onlineModel, seed: config.seed ?? 1 },
    kernel: {
      window: config.window,
      modelSize: config.modelSize,
      zThreshold: config.zThreshold,
    },
  };
}

/** `replay FILE`: the whole file through the pipeline, then one JSON summary line. */
async function replay(path: string, config: CliConfig): Promise<number> {
  const abs = isAbsolute(path) ? path : resolve(path);
  try {
    if (!(await Deno.stat(abs)).isFile) throw new ConfigError(`replay: ${path} is not a file`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`replay: no such file ${path}`);
    throw e;
  }
  // Checked (a Parquet footer read) before any output is opened.
  const input = await RecordedInput.open(abs, config.format, "replay");
  await Deno.mkdir(join(config.dataDir, "logs"), { recursive: true });
  const logs = loggers(config.dataDir);
  const state = new EngineState();
  const started = performance.now();
  try {
    const run = await openRun({
      ...runOptions(config, state, logs.processor),
      source: `file:${abs}`,
      streamDerived: true,
    });
    const counts = await run.run(
      input.stream({ suppressLines: run.resumeLines, speed: config.rate }),
    );
    const seconds = (performance.now() - started) / 1000;
    logs.processor.info("replay finished", { ...counts, seconds });
    console.log(JSON.stringify({
      readings: counts.readings,
      rows: counts.rows,
      anomalies: counts.anomalies,
      errors: counts.errors,
      seconds: Math.round(seconds * 1000) / 1000,
      readings_per_sec: Math.round(counts.readings / Math.max(seconds, 1e-9)),
    }));
    return 0;
  } finally {
    for (const l of Object.values(logs)) l.close();
  }
}

/** `start`: the live engine until SIGINT or SIGTERM. */
async function start(config: CliConfig): Promise<number> {
  await Deno.mkdir(join(config.dataDir, "logs"), { recursive: true });
  const logs = loggers(config.dataDir);
  const state = new EngineState();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const simulated = config.source.kind === "simulator" && !config.processorOnly;
  // The vibration profile simulates waveforms and turns each frame into one feature reading.
  const vibration = simulated && config.profile === "vibration"
    ? new VibrationSimulator({
      machines: config.machines,
      seed: config.seed ?? undefined,
      faultRate: config.faultRate,
    })
    : null;
  const simulator = simulated && config.profile !== "vibration"
    ? new MachineSimulator({
      machines: config.machines,
      seed: config.seed ?? undefined,
      faultRate: config.faultRate,
    })
    : null;
  // The simulator's source starts only after history is re-read; a pause asked for before
  // that is remembered and applied when it starts.
  let simSource: { paused: boolean } | null = null;
  let pausedWanted = false;
  const pauseSwitch = {
    get paused() {
      return simSource?.paused ?? pausedWanted;
    },
    set paused(value: boolean) {
      pausedWanted = value;
      if (simSource) simSource.paused = value;
    },
  };
  const liveReadings = () => {
    if (vibration) {
      const source = new VibrationSource({
        simulator: vibration,
        extractor: new WasmVibrationFeatures({ batchCapacity: Math.max(64, config.machines) }),
        signal: stop.signal,
      });
      source.paused = pausedWanted;
      simSource = source;
      state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
      return source.readable;
    }
    const source = new SimulatorSource({
      simulator: simulator!,
      intervalMs: config.interval * 1000,
      signal: stop.signal,
    });
    source.paused = pausedWanted;
    simSource = source;
    state.setController(source);
    state.setSource({ name: "simulator", state: "running", readings: 0, errors: 0 });
    return source.readable;
  };
  // The simulator's knobs for /control (anomaly level, fault rate), whichever profile runs.
  const knobs = simulator ?? vibration;
  // The run the live settings act on (none with --simulator-only).
  let liveRun: Run | undefined;
  // Every processed reading with its results, for /history and /analytics.
  const history = config.simulatorOnly ? null : new HistoryStore({
    path: join(config.dataDir, "history.sqlite"),
    logger: logs.processor,
  });
  // Live readings, rows and anomalies for GET /events (bounded per client, see EventHub).
  const events = new EventHub();
  // Open event streams would hold the server's graceful shutdown: end them as it begins.
  stop.signal.addEventListener("abort", () => events.close(), { once: true });
  // Prometheus counters for GET /metrics, and the alert webhooks (spooled in <data-dir>/webhooks).
  const webhooks = config.webhooks.length > 0
    ? await WebhookSink.open({
      urls: config.webhooks,
      dir: join(config.dataDir, "webhooks"),
      logger: logs.processor,
    })
    : null;
  const metrics = new Metrics({ state, events, sinks: webhooks ? [webhooks] : [] });
  // `--publish`: anomaly events and rows to an MQTT broker (bounded; never slows the pipeline).
  if (config.publish !== null) await requireMqttPermissions("--publish", config.publish);
  const publisher = config.publish === null ? null : new MqttPublisher({
    url: config.publish,
    anomalyTopic: config.publishAnomalies,
    rowTopic: config.publishRows,
    onError: (e) => logs.processor.warn("mqtt publish", { error: e.message }),
  });
  const listeners = [
    ...(history ? [history] : []),
    events,
    metrics,
    ...(webhooks ? [webhooks] : []),
    ...(publisher ? [publisher] : []),
  ];

  const wiring: PipelineWiring = {
    listeners,
    observeKernel: (ms, n) => metrics.observeKernel(ms, n),
    signal: stop.signal,
    setRun: (r) => liveRun = r,
  };

  // The pipeline is set up (and history re-read) before the API answers, so that the first
  // answers already reflect everything on disk.
  let pipeline: Promise<unknown>;
  if (config.simulatorOnly) {
    pipeline = logOnly(join(config.dataDir, FILES.stream), liveReadings(), state);
  } else if (config.source.kind === "file") {
    const abs = resolve(config.source.path);
    const input = await RecordedInput.open(abs, config.format, "--source");
    const run = await openRun({
      ...runOptions(config, state, logs.processor),
      source: `file:${abs}`,
      streamDerived: true,
      sourceName: `file:${abs}`,
      listeners,
      observeKernel: wiring.observeKernel,
    });
    liveRun = run;
    state.setSource({ name: `file:${abs}`, state: "running", readings: 0, errors: 0 });
    // `--rate` paces it (default max: as fast as possible); Ctrl-C stops it between batches.
    const src = input.stream({
      suppressLines: run.resumeLines,
      speed: config.rate,
      signal: stop.signal,
    });
    pipeline = run.run(src).then(() => {
      state.setSourceState(`file:${abs}`, "finished");
    });
  } else if (config.source.kind === "mqtt") {
    ({ pipeline } = await mqttPipeline(config, config.source.url, state, logs.processor, wiring));
  } else if (config.source.kind === "nats") {
    ({ pipeline } = await natsPipeline(config, config.source.url, state, logs.processor, wiring));
  } else if (config.source.kind === "serial") {
    ({ pipeline } = await serialPipeline(
      config,
      config.source.path,
      state,
      logs.processor,
      wiring,
    ));
  } else {
    const run = await openRun({
      ...runOptions(config, state, logs.processor),
      source: "log",
      streamDerived: false,
      sourceName: knobs ? "simulator" : "log",
      listeners,
      observeKernel: wiring.observeKernel,
    });
    liveRun = run;
    if (!knobs) state.setSource({ name: "log", state: "running", readings: 0, errors: 0 });
    const logSource = new FileSource(join(config.dataDir, FILES.stream), {
      format: "json",
      suppressLines: run.resumeLines,
      log: false,
      follow: config.processorOnly,
      signal: stop.signal,
    });
    const source = knobs
      ? concatStreams(
        logSource.readable,
        () => liveReadings().pipeThrough(new ReadingBatchStream()),
      )
      : logSource.readable;
    pipeline = run.run(source);
  }
  pipeline = pipeline.catch((e) => {
    logs.processor.error("pipeline failed", { error: String(e?.stack ?? e) });
    stop.abort();
    throw e;
  });

  const run = liveRun;
  const control = new EngineControl({
    setZThreshold: run && ((z) => run.analyzer.setZThreshold(z)),
    setModelSize: run && ((n) => run.setModelSize(n)),
    zThreshold: config.zThreshold,
    simulator: knobs ?? undefined,
    source: knobs ? pauseSwitch : undefined,
    modelSize: config.modelSize,
    window: config.window,
  });
  const app = createApp(state, {
    token: config.token ?? undefined,
    logger: logs.api,
    control,
    history: history ?? undefined,
    events,
    metrics,
  });
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`listening on http://${host}:${port}/`);
      logs.api.info("listening", { hostname, port });
    },
  }, app.fetch);

  let code = 0;
  try {
    await pipeline;
    if (!stop.signal.aborted) {
      // A finite source ended: keep serving its results until asked to stop.
      await new Promise((r) => stop.signal.addEventListener("abort", r, { once: true }));
    }
  } catch {
    code = 1;
  } finally {
    stop.abort();
    // Graceful: requests in flight finish (event streams were ended by the abort above);
    // Deno.serve's `signal` option would instead cut every open connection.
    await server.shutdown();
    history?.close();
    // Delivers what it can within its deadline (5 s); the rest stays spooled for the next start.
    await webhooks?.close();
    await publisher?.close();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    for (const l of Object.values(logs)) l.close();
  }
  return code;
}

/** What `start()` hands a source's pipeline set-up. */
interface PipelineWiring {
  listeners: Sink[];
  observeKernel: (ms: number, readings: number) => void;
  /** Ends the source on shutdown. */
  signal: AbortSignal;
  /** Hands `start()` the run, for `/control`'s live settings. */
  setRun: (run: Run) => void;
}

/**
 * `--source serial:PATH`: what `stream_output.jsonl` already holds (re-read after a restart, no
 * heartbeat checks against it), then the live device. Every received line goes to `raw.log`
 * before parsing; `/health` follows the device's connection.
 */
async function serialPipeline(
  config: CliConfig,
  path: string,
  state: EngineState,
  logger: Logger,
  wiring: PipelineWiring,
): Promise<{ pipeline: Promise<unknown> }> {
  const name = `serial:${path}`;
  const live = () => {
    const serial = new SerialSource(path, {
      baud: config.baud,
      rawLogPath: join(config.dataDir, FILES.raw),
      signal: wiring.signal,
    });
    const follow = new TransformStream<SerialItem[], SerialItem[]>({
      transform(items, controller) {
        for (const item of items) {
          if (item.kind !== "device") continue;
          const connected = item.status !== "disconnected";
          state.setSourceState(name, connected ? "running" : "disconnected");
          logger[connected ? "info" : "warn"](`serial device ${item.status}`, { path });
        }
        controller.enqueue(items);
      },
    });
    // Heartbeat ticks only on the live part: during the re-read of the log they would compare
    // old readings with the wall clock and raise false losses.
    return withHeartbeatTicks(
      serial.readable.pipeThrough(follow).pipeThrough(new ReceivedLineBatchStream()),
    );
  };
  return await loggedLivePipeline(config, name, state, logger, wiring, live, systemClock);
}

/**
 * `--source nats://HOST:PORT/SUBJECT --partition k/N`: partition k of the JetStream stream.
 * `stream_output.jsonl` is derived (cut back to the checkpoint, whose `lines` is the stream
 * sequence of the last committed message) and re-read as history; then the durable consumer
 * delivers from the next sequence, and each checkpoint acknowledges what it committed.
 */
async function natsPipeline(
  config: CliConfig,
  url: string,
  state: EngineState,
  logger: Logger,
  wiring: PipelineWiring,
): Promise<{ pipeline: Promise<unknown> }> {
  const { index, count } = config.partition ?? { index: 0, count: 1 };
  let id: string;
  try {
    id = NatsSource.sourceId(url, index, count);
  } catch (e) {
    throw new ConfigError(`bad value for --source: ${(e as Error).message}`);
  }
  // Asked before anything starts, so that a host `deno task start` may not reach exits 2
  // naming it (see the NotCapable case of main()) instead of failing the pipeline later.
  const host = /^nats:\/\/([^/]+)/.exec(url)![1]!;
  const net = await Deno.permissions.query({ name: "net", host });
  if (net.state !== "granted") {
    throw new Deno.errors.NotCapable(`--source ${url} needs --allow-net=${host}`);
  }
  const name = `${url}#${index}/${count}`;
  let nats: NatsSource | null = null;
  const run = await openRun({
    ...runOptions(config, state, logger),
    source: id,
    streamDerived: true,
    sourceName: name,
    listeners: wiring.listeners,
    observeKernel: wiring.observeKernel,
    onCommit: (lines) => nats?.commit(lines),
  });
  wiring.setRun(run);
  state.setSourceState(name, "starting");
  const live = () => {
    nats = new NatsSource({
      url,
      partition: index,
      partitions: count,
      position: run.resumeLines,
      signal: wiring.signal,
      onStatus: (status, detail) => {
        state.setSourceState(
          name,
          status === "connecting" ? "starting" : status === "closed" ? "finished" : status,
        );
        logger[status === "disconnected" ? "warn" : "info"](`nats ${status}`, { url, detail });
      },
    });
    return nats.readable;
  };
  const history = NatsSource.history(join(config.dataDir, FILES.stream), run.resumeLines);
  return {
    pipeline: run.run(concatStreams(history, live)).finally(() => nats?.close()),
  };
}

/** MQTT needs the broker's host and, since mqtt.js reads the environment, all of `--allow-env`:
 * said at start, as exit 2, rather than at the first connection. */
async function requireMqttPermissions(flag: string, url: string): Promise<void> {
  const host = /^mqtts?:\/\/([^/:]+)/.exec(url)?.[1];
  if (!host) throw new ConfigError(`bad value for ${flag}: ${JSON.stringify(url)} has no host`);
  for (const p of [{ name: "net", host } as const, { name: "env" } as const]) {
    if ((await Deno.permissions.query(p)).state !== "granted") {
      throw new Deno.errors.NotCapable(
        `${flag} ${url} needs --allow-net=${host} and --allow-env (mqtt.js reads the environment)`,
      );
    }
  }
}

/**
 * `--source mqtt://HOST:PORT/TOPIC`: `stream_output.jsonl` re-read as history, then the broker's
 * persistent session (QoS 1: readings published while the engine was away arrive now). Each
 * live reading is logged to `stream_output.jsonl` before it is processed, as the simulator's are.
 */
async function mqttPipeline(
  config: CliConfig,
  url: string,
  state: EngineState,
  logger: Logger,
  wiring: PipelineWiring,
): Promise<{ pipeline: Promise<unknown> }> {
  await requireMqttPermissions("--source", url);
  const name = url;
  // Parser errors wait here for the next batch; the source emits one right after each error.
  const errors: RejectedLine[] = [];
  const live = () => {
    const mqtt = new MqttSource({
      url,
      dataDir: resolve(config.dataDir),
      signal: wiring.signal,
      format: config.format === "json" || config.format === "kv" ? config.format : "auto",
      onParseError: (e) =>
        errors.push({ line: e.line, error: `${e.topic}: ${e.error}`, time: e.time }),
      onStatus: (status, detail) => {
        state.setSourceState(
          name,
          status === "connected"
            ? "running"
            : status === "closed"
            ? "finished"
            : status === "offline"
            ? "disconnected"
            : "starting",
          detail,
        );
        logger[status === "offline" ? "warn" : "info"](`mqtt ${status}`, { url, detail });
      },
    });
    return mqtt.readable.pipeThrough(
      new TransformStream<Reading[], Batch>({
        transform(readings, c) {
          c.enqueue({
            readings,
            errors: errors.splice(0),
            lines: readings.length,
            suppress: false,
            log: true,
          });
        },
      }),
    );
  };
  return await loggedLivePipeline(config, name, state, logger, wiring, live);
}

/**
 * A live source whose readings are logged to `stream_output.jsonl` before they are processed
 * (serial, MQTT): the run re-reads the log as history (a restart resumes exactly from the
 * checkpoint), then continues with `live()`. Resolves once set up; the returned promise (wrapped,
 * so it is not awaited here) ends with the run.
 */
async function loggedLivePipeline(
  config: CliConfig,
  name: string,
  state: EngineState,
  logger: Logger,
  wiring: PipelineWiring,
  live: () => ReadableStream<Batch>,
  heartbeatClock?: Clock,
): Promise<{ pipeline: Promise<unknown> }> {
  const run = await openRun({
    ...runOptions(config, state, logger),
    source: "log",
    streamDerived: false,
    sourceName: name,
    listeners: wiring.listeners,
    observeKernel: wiring.observeKernel,
    heartbeatClock,
  });
  wiring.setRun(run);
  state.setSourceState(name, "starting");
  const logged = new FileSource(join(config.dataDir, FILES.stream), {
    format: "json",
    suppressLines: run.resumeLines,
    log: false,
  });
  return { pipeline: run.run(concatStreams(logged.readable, live)) };
}

/** `--simulator-only`: readings go to `stream_output.jsonl` and nowhere else. */
async function logOnly(
  path: string,
  readings: ReadableStream<Reading[]>,
  state: EngineState,
) {
  const file = await Deno.open(path, { append: true, create: true });
  const encoder = new TextEncoder();
  try {
    for await (const chunk of readings) {
      state.recordReadings(chunk);
      const bytes = encoder.encode(chunk.map(formatReading).join("\n") + "\n");
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    }
  } finally {
    file.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
