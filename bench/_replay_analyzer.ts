/**
 * The `Analyzer` a replay of the `machine` profile builds (rolling kernel, adaptive detector,
 * heartbeat "auto"), of a given engine module: the benches that import another tree's engine
 * pass its module.
 * @module
 */
import type { Analyzer } from "../engine/mod.ts";

/**
 * A new analyzer as `replay` builds it, from `engine` (this tree's or another's `engine/mod.ts`).
 *
 * @example
 * ```ts
 * const analyzer = replayAnalyzer(await import("../engine/mod.ts"));
 * ```
 */
export function replayAnalyzer(engine: typeof import("../engine/mod.ts")): Analyzer {
  const kernel = new engine.WasmKernel({});
  return new engine.Analyzer(kernel, {
    channels: engine.MACHINE_CHANNELS,
    heartbeatTimeoutMs: "auto",
    adaptive: new engine.WasmAdaptiveDetector({
      maxStreams: kernel.options.maxStreams,
      batchCapacity: kernel.options.batchCapacity,
    }),
  });
}
