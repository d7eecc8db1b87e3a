/**
 * `start`: the live engine until SIGINT or SIGTERM. The source comes from the registry
 * (`cli/sources.ts`) by the `--source` value; the sinks are built here, one line each.
 * @module
 */
import { join } from "node:path";
import {
  DiskFullError,
  diskFullOr,
  EngineControl,
  EngineState,
  EventHub,
  FILES,
  FileSource,
  formatReading,
  HistoryStore,
  Metrics,
  MqttPublisher,
  nullLogger,
  openDataDir,
  openRun,
  type Reading,
  requireMqttPermissions,
  type Run,
  type Sink,
  type SourceContext,
  StartupError,
} from "../engine/live_mod.ts";
import { createApp } from "../routes/mod.ts";
import { type CliConfig, loggers, runOptions } from "./options.ts";
import { openDeliveringSinks } from "./sinks.ts";
import { SOURCES } from "./sources.ts";

/**
 * Runs the live engine with `config`; resolves with the exit code once stopped.
 *
 * @example
 * ```ts
 * import { configOf } from "./options.ts";
 * import { start } from "./start.ts";
 *
 * Deno.exit(await start(await configOf(["--machines", "3"], 0)));
 * ```
 */
export async function start(config: CliConfig): Promise<number> {
  const state = new EngineState();
  const stop = new AbortController();
  const definition = SOURCES.get(config.target);
  const base = { target: config.target, config, state, signal: stop.signal };
  // Settings and permissions first: a missing one exits 2 before any file is opened.
  await definition.check?.({ ...base, logger: nullLogger });
  if (config.publish !== null) await requireMqttPermissions("--publish", config.publish);
  // A busy port is refused before the data directory is touched (the listen below re-checks:
  // another process may take the port in between).
  checkPort(config.host, config.port);
  // Locked for what this process writes: a --simulator-only and a --processor-only process
  // share a directory; a second of either, or a second engine, is refused.
  using _dataDir = await openDataDir(config.dataDir, {
    roles: config.simulatorOnly ? ["input"] : config.processorOnly ? ["outputs"] : undefined,
  });
  const logs = loggers(config.dataDir);
  const context: SourceContext = { ...base, logger: logs.processor };
  if (config.profileNote !== null) logs.processor.warn(config.profileNote);
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  // Every processed reading with its results, for /history and /analytics.
  // A full disk stops the engine (files at their last checkpoint); the CLI then prints the
  // one line naming the file and exits 2.
  let fatal: DiskFullError | StartupError | null = null;
  const stopOnFatal = (e: DiskFullError | StartupError) => {
    fatal ??= e;
    stop.abort();
  };
  const history = config.simulatorOnly ? null : new HistoryStore({
    path: join(config.dataDir, "history.sqlite"),
    logger: logs.processor,
    onDiskFull: stopOnFatal,
  });
  // Live readings, rows and anomalies for GET /events (bounded per client, see EventHub).
  const events = new EventHub();
  // Open event streams would hold the server's graceful shutdown: end them as it begins.
  stop.signal.addEventListener("abort", () => events.close(), { once: true });
  // `--publish`: anomaly events and rows to an MQTT broker (bounded; never slows the pipeline).
  const publisher = config.publish === null ? null : new MqttPublisher({
    url: config.publish,
    anomalyTopic: config.publishAnomalies,
    rowTopic: config.publishRows,
    onError: (e) => logs.processor.warn("mqtt publish", { error: e.message }),
  });
  // The spooled sinks (--webhook, --influx), shared with replay: one line per sink there.
  const delivering = await openDeliveringSinks(config, logs.processor);
  // Prometheus metrics for GET /metrics, with the delivering sinks' health.
  const metrics = new Metrics({ state, events, sinks: delivering });
  // The sinks, in the order each batch reaches them: one line per sink.
  const sinks: Sink[] = [
    ...(history ? [history] : []),
    events,
    metrics,
    ...delivering,
    ...(publisher ? [publisher] : []),
  ];

  // The pipeline is set up (and history re-read) before the API answers, so that the first
  // answers already reflect everything on disk.
  const plan = await definition.open(context);
  let liveRun: Run | undefined;
  let pipeline: Promise<unknown>;
  if (config.simulatorOnly && plan.readingsOnly) {
    pipeline = logOnly(join(config.dataDir, FILES.stream), plan.readingsOnly(), state);
  } else {
    const run = await openRun({
      ...runOptions(config, state, logs.processor),
      source: plan.id,
      streamDerived: plan.streamDerived,
      sourceName: plan.name ?? undefined,
      sinks,
      observeKernel: (ms, n) => metrics.observeKernel(ms, n),
      heartbeatClock: plan.heartbeatClock,
      onCommit: plan.onCommit && ((lines) => plan.onCommit!(lines)),
    });
    liveRun = run;
    const batches = plan.batches({
      lines: run.resumeLines,
      log: (options = {}) =>
        new FileSource(join(config.dataDir, FILES.stream), {
          format: "json",
          suppressLines: options.suppressLines ?? run.resumeLines,
          log: false,
          follow: options.follow ?? false,
          signal: stop.signal,
        }).readable,
    });
    pipeline = run.run(batches).then(
      () => plan.finished?.(false),
      async (e) => {
        await plan.finished?.(true);
        throw e;
      },
    );
  }
  pipeline = pipeline.catch((e) => {
    // A full disk, or a reason the user can fix that arose while running (a NATS partition's
    // lease taken by another instance): one line and exit 2, after the cleanup below.
    if (e instanceof DiskFullError || e instanceof StartupError) stopOnFatal(e);
    else logs.processor.error("pipeline failed", { error: String(e?.stack ?? e) });
    stop.abort();
    throw e;
  });

  const run = liveRun;
  const control = new EngineControl({
    setZThreshold: run && ((z) => run.analyzer.setZThreshold(z)),
    setModelSize: run && ((n) => run.setModelSize(n)),
    zThreshold: config.zThreshold,
    simulator: plan.controls?.simulator,
    source: plan.controls?.source,
    modelSize: config.modelSize,
    window: config.window,
  });
  // With `--port 0` the port is known only once the server listens; until then no request
  // can arrive, so the configured one stands in.
  let servedPort = config.port;
  const app = createApp(state, {
    token: config.token ?? undefined,
    served: { host: config.host, port: () => servedPort, allowedHosts: config.allowedHosts },
    logger: logs.api,
    control,
    history: history ?? undefined,
    events,
    metrics,
    sinks,
  });
  let server: Deno.HttpServer | undefined;
  let refused: unknown = null;
  let code = 0;
  try {
    try {
      server = Deno.serve({
        hostname: config.host,
        port: config.port,
        onListen: ({ hostname, port }) => {
          servedPort = port;
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          console.log(`listening on http://${host}:${port}/`);
          logs.api.info("listening", { hostname, port });
        },
      }, app.fetch);
    } catch (e) {
      refused = listenError(e, config.host, config.port);
      // The pipeline already runs: stop it and let it commit before the sinks close.
      stop.abort();
      await pipeline.catch(() => {});
      throw refused;
    }
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
    // Deno.serve's `signal` option would instead cut every open connection. Then each sink
    // flushes: webhooks deliver what they can within their deadline (5 s) and keep the rest
    // spooled for the next start.
    await server?.shutdown();
    for (const sink of sinks) {
      try {
        await sink.close?.();
      } catch (e) {
        // One sink's failed close (its last flush on a full disk) must not skip the others.
        if (e instanceof DiskFullError) fatal ??= e;
        else logs.processor.error("sink close failed", { error: String(e) });
      }
    }
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    for (const l of Object.values(logs)) l.close();
  }
  if (refused !== null) throw refused;
  if (fatal !== null) throw fatal;
  return code;
}

/**
 * Throws a {@linkcode StartupError} when `host:port` cannot be listened on (in use, or not an
 * address of this machine); port 0 (any free port) always can.
 */
function checkPort(host: string, port: number): void {
  if (port === 0) return;
  try {
    Deno.listen({ hostname: host, port }).close();
  } catch (e) {
    throw listenError(e, host, port);
  }
}

/** The one-line error of a listen that failed, or `e` itself when it is not one we explain. */
function listenError(e: unknown, host: string, port: number): unknown {
  if (e instanceof Deno.errors.AddrInUse) {
    return new StartupError(
      `port ${port} on ${host} is in use by another process: stop it, or pass another --port ` +
        `(--port 0 picks a free one)`,
    );
  }
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return new StartupError(
      `cannot listen on ${host}:${port} (${e.message}): --host must be an address of this machine`,
    );
  }
  return e;
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
      const size = (await file.stat()).size;
      try {
        let off = 0;
        while (off < bytes.length) off += await file.write(bytes.subarray(off));
      } catch (e) {
        // No torn line for the processor to meet: the log ends with the last whole chunk.
        await file.truncate(size);
        throw diskFullOr(e, path);
      }
    }
  } finally {
    file.close();
  }
}
