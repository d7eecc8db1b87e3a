/**
 * One processing run over a data directory: opens the outputs (resuming from the checkpoint),
 * builds the kernel and analyzer, and pumps a source of batches through the pipeline.
 * @module
 */
import { Analyzer } from "../detect/analyzer.ts";
import type { IsolationScorer } from "../core/analysis.ts";
import { WasmIsolationForest } from "../kernels/iforest/isolation_forest_wasm.ts";
import { OnlineForests } from "../detect/online_forest.ts";
import type { Batch } from "../core/batch.ts";
import {
  type ChannelConfig,
  DEVICE_CHANNELS,
  MACHINE_CHANNELS,
  VIBRATION_CHANNELS,
} from "../core/channel_config.ts";
import type { Clock } from "../core/clock.ts";
import { WasmKernel } from "../kernels/rolling/kernel_wasm.ts";
import { WasmAdaptiveDetector } from "../kernels/adaptive/adaptive_wasm.ts";
import type { AdaptiveDetector } from "../kernels/adaptive/adaptive_types.ts";
import type { Kernel, KernelOptions } from "../kernels/rolling/kernel_types.ts";
import type { Logger } from "../core/logger.ts";
import { OutputFiles } from "./output_files.ts";
import { AnalysisStream, OutputSink, type PipelineCounts } from "./pipeline.ts";
import { restoreAlarms } from "./restore_alarms.ts";
import type { Sink } from "../sinks/sink.ts";
import type { EngineState } from "../core/state.ts";
import { Incidents } from "../core/incidents.ts";

/** Options of {@linkcode openRun}. */
export interface RunOptions {
  dataDir: string;
  /** The checkpoint's source id: `file:<absolute path>` or `log`. */
  source: string;
  /** Whether `stream_output.jsonl` is rewritten from the input (replay) or is the input log. */
  streamDerived: boolean;
  state: EngineState;
  logger: Logger;
  kernel?: KernelOptions;
  /** @default {10000} */
  processingIntervalMs?: number;
  /**
   * What is monitored: `machine` (channels {@linkcode MACHINE_CHANNELS}) or `device` (the
   * serial device: {@linkcode DEVICE_CHANNELS} with hysteresis, `HEARTBEAT_*` and
   * `DEVICE_STATUS` events, and `structured_metrics.csv`), `vibration`
   * ({@linkcode VIBRATION_CHANNELS}) or `generic` (data Vigil has never seen: no built-in
   * channel at all, so every channel has only the limits the config gives it and is watched by
   * the adaptive detector alone). @default {"machine"}
   */
  profile?: "machine" | "vibration" | "device" | "generic";
  /** The alarms: `adaptive` (the adaptive detector, every alarm a state with delays) or
   * `zscore` (the rolling z-score alarms, as before it; see `AnalyzerOptions.adaptive`).
   * @default {"adaptive"} */
  detector?: "adaptive" | "zscore";
  /** Under the `adaptive` detector, the incident group window, event-time ms (see
   * `IncidentsOptions.windowMs`). @default {60000} */
  incidentWindowMs?: number;
  /** Channel limits over the profile's channels, merged per channel. @default {{}} */
  channels?: Record<string, ChannelConfig>;
  /** Heartbeat timeout, ms; `"auto"`: learned per machine (see
   * engine/detect/heartbeat_monitor.ts); null: no heartbeat events. @default {5000 for the device profile, null under the `zscore`
   * detector (the alarms as before it), else "auto"} */
  heartbeatTimeoutMs?: number | "auto" | null;
  /** Live runs: the clock of heartbeat checks (see {@linkcode AnalysisStreamOptions.clock}).
   * @default {none: event-time gaps only} */
  heartbeatClock?: Clock;
  sinks?: Sink[];
  /**
   * Compute every reading's per-channel kernel results for the sinks' `results` (see
   * `AnalyzerOptions.readingValues`). @default {true when a sink has `results`
   * (the live history store), else false (replay: no cost)}
   */
  readingValues?: boolean;
  /** Told of each batch's analysis time (see {@linkcode AnalysisStreamOptions.observeKernel}).
   * @default {none} */
  observeKernel?: (ms: number, readings: number) => void;
  /** Score readings with this isolation forest (`--model`); rows get `anomaly_score`.
   * @default {undefined} */
  isolationForest?: IsolationScorer;
  /** The online mode: each machine's first `trainSize` readings train its own forest (WASM),
   * which then scores the rest. Excludes `isolationForest`. @default {undefined} */
  onlineForest?: { trainSize: number; seed?: number };
  /** The `/health` source entry to count readings under. */
  sourceName?: string;
  /** Told the committed input lines after each checkpoint (see
   * `OutputSinkOptions.onCommit`). @default {none} */
  onCommit?: (lines: number) => void;
  /** Least time between checkpoints while batches keep coming (see
   * `OutputSinkOptions.commitEveryMs`). @default {0: every batch} */
  commitEveryMs?: number;
  /** Use this kernel instead of a new WASM one (tests compare against the reference). */
  kernelInstance?: Kernel;
  /** With the `adaptive` detector, use this one instead of a new WASM one (tests). */
  adaptiveInstance?: AdaptiveDetector;
}

/** An opened run; call {@linkcode Run.run} once. */
export interface Run {
  readonly outputs: OutputFiles;
  readonly analyzer: Analyzer;
  /** Input lines the previous run had committed (0 for a fresh start): re-read as history. */
  readonly resumeLines: number;
  /** Pumps `source` through the pipeline to its end; closes the outputs. */
  run(source: ReadableStream<Batch>): Promise<PipelineCounts>;
  /**
   * Changes the z-score model size from the next batch on: a new WASM kernel with that size
   * takes over (see {@linkcode Analyzer.replaceKernel}: windows and models refill). Throws a
   * `RangeError` naming a bad size.
   */
  setModelSize(modelSize: number): void;
}

/** Opens a run: outputs cut back to the last checkpoint, a fresh kernel and analyzer. */
export async function openRun(options: RunOptions): Promise<Run> {
  // Only `device` changes what a run does here; any other profile runs the machine channels.
  const device = options.profile === "device";
  const outputs = await OutputFiles.open(options.dataDir, {
    source: options.source,
    streamDerived: options.streamDerived,
    structured: device,
  });
  try {
    const kernel = options.kernelInstance ?? new WasmKernel(options.kernel);
    const channels: Record<string, ChannelConfig> = {
      ...(device
        ? DEVICE_CHANNELS
        : options.profile === "vibration"
        ? VIBRATION_CHANNELS
        : options.profile === "generic"
        ? {}
        : MACHINE_CHANNELS),
    };
    const adaptive = options.detector === "zscore" ? undefined : options.adaptiveInstance ??
      new WasmAdaptiveDetector({
        maxStreams: kernel.options.maxStreams,
        batchCapacity: kernel.options.batchCapacity,
      });
    for (const [name, c] of Object.entries(options.channels ?? {})) {
      channels[name] = { ...channels[name], ...c };
    }
    const analyzer = new Analyzer(kernel, {
      processingIntervalMs: options.processingIntervalMs,
      channels,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs === undefined
        ? (device ? 5000 : options.detector === "zscore" ? null : "auto")
        : options.heartbeatTimeoutMs,
      deviceStatus: device,
      isolationForest: options.isolationForest,
      onlineForests: options.onlineForest &&
        new OnlineForests({
          trainSize: options.onlineForest.trainSize,
          seed: options.onlineForest.seed,
          createScorer: (model) => new WasmIsolationForest(model),
        }),
      readingValues: options.readingValues ??
        (options.sinks ?? []).some((l) => l.results !== undefined),
      adaptive,
    });
    if (outputs.resume?.heartbeat) analyzer.resumeHeartbeat(outputs.resume.heartbeat);
    const resumeLines = outputs.resume?.lines ?? 0;
    // `--detector zscore` keeps its events as they were: no incident field.
    const incidents = options.detector === "zscore"
      ? undefined
      : new Incidents({ windowMs: options.incidentWindowMs });
    // The history re-run leaves the alarms alone (see RecordAnomaliesOptions.alarms): the
    // events written up to the checkpoint are what was raised and cleared.
    const restored = outputs.resume
      ? await restoreAlarms(options.dataDir, options.state, options.logger, incidents)
      : { events: 0, bad: 0 };
    options.logger.info(outputs.resume ? "resuming from checkpoint" : "starting fresh", {
      source: options.source,
      dataDir: options.dataDir,
      profile: options.profile ?? "machine",
      lines: resumeLines,
      alarmEvents: restored.events,
      badAlarmLines: restored.bad,
      activeAlarms: options.state.alarms().length,
    });
    return {
      outputs,
      analyzer,
      resumeLines,
      setModelSize(modelSize) {
        analyzer.replaceKernel(new WasmKernel({ ...kernel.options, modelSize }));
      },
      async run(source) {
        const sink = new OutputSink({
          outputs,
          state: options.state,
          logger: options.logger,
          sinks: options.sinks,
          sourceName: options.sourceName,
          anomalyScore: options.isolationForest !== undefined ||
            options.onlineForest !== undefined,
          onCommit: options.onCommit,
          commitEveryMs: options.commitEveryMs,
          incidents,
          resume: outputs.resume,
        });
        try {
          await source.pipeThrough(
            new AnalysisStream(analyzer, {
              clock: options.heartbeatClock,
              observeKernel: options.observeKernel,
            }),
          ).pipeTo(sink);
        } finally {
          outputs.close();
        }
        return sink.counts;
      },
    };
  } catch (e) {
    outputs.close();
    throw e;
  }
}
