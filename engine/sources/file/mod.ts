/**
 * The `file:PATH` source: a recorded JSONL, CSV, `kv`, `raw.log` or Parquet file through the
 * live engine (paced by `--rate`); `stream_output.jsonl` is derived from it.
 * @module
 */
import { resolve } from "node:path";
import type { SourceDefinition } from "../source.ts";
import { RecordedInput } from "./recorded_input.ts";

/**
 * `--source file:PATH`.
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "../source.ts";
 * import { fileSource } from "./mod.ts";
 *
 * new SourceRegistry().register(fileSource).get("file:readings.jsonl");
 * ```
 */
export const fileSource: SourceDefinition = {
  scheme: "file:",
  usage: "file:PATH",
  async open({ target, config, state, signal, logger }) {
    const abs = resolve(target.slice("file:".length));
    const input = await RecordedInput.open(abs, config.format, "--source");
    const name = `file:${abs}`;
    return {
      id: name,
      name,
      streamDerived: true,
      batches(resume) {
        state.setSource({ name, state: "running", readings: 0, errors: 0 });
        // `--rate` paces it (default max: as fast as possible); Ctrl-C stops it between batches.
        return input.stream({
          suppressLines: resume.lines,
          speed: config.rate,
          signal,
          onNotice: (note) => logger.warn(`${abs}: ${note}`),
          deviceKeys: config.profile === "device",
        });
      },
      finished(failed) {
        if (!failed) state.setSourceState(name, "finished");
      },
    };
  },
};
