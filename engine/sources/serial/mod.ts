/**
 * The `serial:PATH` source: a device on a tty. What `stream_output.jsonl` already holds is
 * re-read after a restart (no heartbeat checks against it), then the live device: every
 * received line goes to `raw.log` before parsing, and `/health` follows the connection.
 * @module
 */
import { join } from "node:path";
import { ConfigError } from "../../core/config.ts";
import { systemClock } from "../../core/clock.ts";
import { withHeartbeatTicks } from "../../core/heartbeat_ticks.ts";
import { concatStreams } from "../../core/streams.ts";
import { FILES } from "../../core/files.ts";
import { ReceivedLineBatchStream } from "../../formats/received_line_batch_stream.ts";
import type { SourceDefinition } from "../source.ts";
import { BAUD_RATES } from "./serial_port.ts";
import type { SerialItem } from "./serial_source.ts";

/**
 * `--source serial:PATH` (with `--baud`).
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "../source.ts";
 * import { serialSource } from "./mod.ts";
 *
 * new SourceRegistry().register(serialSource).get("serial:/dev/ttyUSB0");
 * ```
 */
export const serialSource: SourceDefinition = {
  scheme: "serial:",
  usage: "serial:PATH",
  check({ config }) {
    if (!BAUD_RATES.includes(config.baud)) {
      throw new ConfigError(
        `bad value for --baud: ${config.baud} (allowed: ${BAUD_RATES.join(", ")})`,
      );
    }
  },
  async open({ target, config, state, logger, signal }) {
    // Imported when opened: the registry (and so every replay) loads only this definition.
    const { SerialSource } = await import("./serial_source.ts");
    const path = target.slice("serial:".length);
    const name = `serial:${path}`;
    const live = () => {
      const serial = new SerialSource(path, {
        baud: config.baud,
        rawLogPath: join(config.dataDir, FILES.raw),
        signal,
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
        serial.readable.pipeThrough(follow).pipeThrough(
          new ReceivedLineBatchStream({ deviceKeys: config.profile === "device" }),
        ),
      );
    };
    return {
      id: "log",
      name,
      streamDerived: false,
      heartbeatClock: systemClock,
      batches(resume) {
        state.setSourceState(name, "starting");
        return concatStreams(resume.log(), live);
      },
    };
  },
};
