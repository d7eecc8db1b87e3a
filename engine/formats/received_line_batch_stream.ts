/**
 * The live path of a line source (serial port, network): received `kv` lines → parsed batches.
 * @module
 */
import type { EventfulBatch } from "../core/batch.ts";
import type { ReceivedLine } from "./raw_line.ts";
import { createLineParser } from "./reading_parser.ts";
import type { AnomalyEvent } from "../core/types.ts";

/** A received line, or one the reader already refused (`error`, e.g. an overlong line): the
 * `line` and `rejected` items of `SerialSource` have this shape. */
export interface ReceivedLineItem extends ReceivedLine {
  kind?: "line" | "rejected";
  /** Why the reader refused the line; it then goes to `parser_errors.log` unparsed. */
  error?: string;
}

/** The device came, went or came back (the `device` items of `SerialSource`). */
export interface DeviceNotice {
  kind: "device";
  status: "connected" | "disconnected" | "reconnected";
  /** `Device connected`, `Device disconnected` or `Device reconnected`. */
  message: string;
  /** Why it was lost; null otherwise. */
  detail: string | null;
  /** Epoch ms. */
  time: number;
}

/** Options of {@linkcode ReceivedLineBatchStream}. */
export interface ReceivedLineBatchStreamOptions {
  /** Longer received lines are parser errors. @default {65536} */
  maxLineLength?: number;
  /** Each line must carry the `device` profile's keys (see `LineParserOptions.deviceKeys`).
   * @default {false} */
  deviceKeys?: boolean;
}

/**
 * Parses chunks of received lines with the `kv` parser into pipeline batches whose readings are
 * logged to `stream_output.jsonl` (the input of a live run, `openRun` with source `log`). The event time of each reading, and the time of each parser
 * error, is the line's receive time cut to the millisecond: exactly the time `raw.log` records,
 * so that `replay raw.log --format raw` reproduces `structured_metrics.csv` byte for byte.
 *
 * A {@linkcode DeviceNotice} becomes a `DEVICE_STATUS` event carried by the batch
 * ({@linkcode EventfulBatch}): CRITICAL when the device is gone, INFO when it is (back) there,
 * for the machine of the port's latest reading (`m1` before any). These events are not in the
 * input log, so a restart does not raise them again.
 */
export class ReceivedLineBatchStream
  extends TransformStream<(ReceivedLineItem | DeviceNotice)[], EventfulBatch> {
  constructor(options: ReceivedLineBatchStreamOptions = {}) {
    let time = 0;
    let machine = "m1";
    const parser = createLineParser("kv", {
      now: () => time,
      maxLineLength: options.maxLineLength,
      deviceKeys: options.deviceKeys,
    });
    super({
      transform(lines, controller) {
        const batch: EventfulBatch = {
          readings: [],
          errors: [],
          lines: 0,
          suppress: false,
          log: true,
        };
        for (const item of lines) {
          // toISOString drops fractions of a millisecond the same way (towards zero).
          time = Math.trunc(item.time);
          if (item.kind === "device") {
            (batch.events ??= []).push(noticeEvent(item, machine, time));
            continue;
          }
          const { line, error } = item;
          if (error !== undefined) {
            batch.errors.push({ line, error, time });
            continue;
          }
          const r = parser.parse(line);
          if (r === null) continue;
          if (typeof r === "string") batch.errors.push({ line, error: r, time });
          else {
            batch.readings.push(r);
            machine = r.machine;
          }
        }
        // A live run's input, re-read on restart, is `stream_output.jsonl`: one line per reading
        // (see `ReadingBatchStream`), not per received line.
        batch.lines = batch.readings.length;
        controller.enqueue(batch);
      },
    });
  }
}

function noticeEvent(notice: DeviceNotice, machine: string, time: number): AnomalyEvent {
  return {
    timestamp: new Date(time).toISOString(),
    machine,
    type: "DEVICE_STATUS",
    severity: notice.status === "disconnected" ? "CRITICAL" : "INFO",
    channel: null,
    value: null,
    threshold: null,
    description: notice.detail ? `${notice.message}: ${notice.detail}.` : `${notice.message}.`,
  };
}
