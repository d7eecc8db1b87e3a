/**
 * The `mqtt://HOST:PORT/TOPIC` source: `stream_output.jsonl` re-read as history, then the
 * broker's persistent session (QoS 1: readings published while the engine was away arrive now).
 * Each live reading is logged to `stream_output.jsonl` before it is processed, and its message
 * is acknowledged only after the checkpoint that follows that write: a `kill -9` loses nothing,
 * and what the broker delivers again is recognised by the delivery journal
 * (`mqtt_deliveries.jsonl`) and not logged twice.
 * @module
 */
import { join, resolve } from "node:path";
import type { Batch, RejectedLine } from "../../core/batch.ts";
import { requireMqttPermissions } from "../../core/load_mqtt.ts";
import { concatStreams } from "../../core/streams.ts";
import { FILES } from "../../core/files.ts";
import type { SourceDefinition } from "../source.ts";
import type { MqttBatch, MqttSource } from "./mqtt_source.ts";

/** Refused payload lines held for the next batch; more are counted, not kept (see
 * `Batch.unloggedErrors`). */
export const MAX_PENDING_ERRORS = 10_000;

/**
 * `--source mqtt://HOST:PORT/TOPIC` (wildcards allowed).
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "../source.ts";
 * import { mqttSource } from "./mod.ts";
 *
 * new SourceRegistry().register(mqttSource).get("mqtt://127.0.0.1:1883/plant/+/readings");
 * ```
 */
export const mqttSource: SourceDefinition = {
  scheme: "mqtt://",
  usage: "mqtt://HOST:PORT/TOPIC",
  check: ({ target }) => requireMqttPermissions("--source", target),
  async open({ target: url, config, state, logger, signal }) {
    // Imported when opened: the registry (and so every replay) loads only this definition.
    const { MqttSource } = await import("./mqtt_source.ts");
    const name = url;
    // Parser errors wait here for the next batch; the source emits one right after each error.
    // Refused payloads are not held back by the reading queue, so a flood while the pipeline
    // writes is bounded here: past MAX_PENDING_ERRORS they are only counted.
    const errors: RejectedLine[] = [];
    let unlogged = 0;
    let mqtt: MqttSource | null = null;
    /** Lines of `stream_output.jsonl` re-read as history: where the live readings' lines start. */
    let position = 0;
    const live = () => {
      mqtt = new MqttSource({
        url,
        dataDir: resolve(config.dataDir),
        signal,
        acknowledge: "committed",
        lines: true,
        position,
        journal: join(config.dataDir, FILES.mqttDeliveries),
        format: config.format === "json" || config.format === "kv" ? config.format : "auto",
        deviceKeys: config.profile === "device",
        onParseError: (e) => {
          if (errors.length < MAX_PENDING_ERRORS) {
            errors.push({ line: e.line, error: `${e.topic}: ${e.error}`, time: e.time });
          } else unlogged++;
        },
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
      return mqtt.batches.pipeThrough(
        new TransformStream<MqttBatch, Batch>({
          transform({ readings, text }, c) {
            c.enqueue({
              readings,
              text,
              errors: errors.splice(0),
              unloggedErrors: unlogged,
              lines: readings.length,
              suppress: false,
              log: true,
            });
            unlogged = 0;
          },
        }),
      );
    };
    return {
      id: "log",
      name,
      streamDerived: false,
      onCommit: (lines) => mqtt?.commit(lines),
      batches(resume) {
        state.setSourceState(name, "starting");
        const history = resume.log().pipeThrough(
          new TransformStream<Batch, Batch>({
            transform(batch, c) {
              position += batch.lines;
              c.enqueue(batch);
            },
          }),
        );
        return concatStreams(history, live);
      },
      finished: () => mqtt?.close(),
    };
  },
};
