/**
 * A restart's active alarms, rebuilt from the `anomalies.jsonl` the previous runs wrote (already
 * cut back to the checkpoint). Not from the history re-run: the analyzer does not raise again
 * every event it wrote (a heartbeat loss a timer raised and no reading ended yet; events under a
 * z threshold changed through `/control`), and the file is what was raised and cleared.
 * @module
 */
import { join } from "node:path";
import { FILES } from "../core/files.ts";
import type { Logger } from "../core/logger.ts";
import type { EngineState } from "../core/state.ts";
import type { AnomalyEvent } from "../core/types.ts";
import type { Incidents } from "../core/incidents.ts";
import { LineSplitter } from "../formats/line_splitter.ts";

/** What {@linkcode restoreAlarms} read. */
export interface RestoredAlarms {
  /** Events applied. */
  events: number;
  /** Lines that were not an anomaly event (logged, skipped). */
  bad: number;
}

/** The most bad lines logged one by one; the rest are only counted (the log stays bounded). */
const LOGGED_BAD = 10;

/** `value` as an anomaly event, or null when it lacks what an alarm needs. */
function eventOf(value: unknown): AnomalyEvent | null {
  if (typeof value !== "object" || value === null) return null;
  const e = value as Record<string, unknown>;
  const ok = typeof e.timestamp === "string" && !Number.isNaN(Date.parse(e.timestamp)) &&
    typeof e.machine === "string" && typeof e.type === "string" &&
    (e.severity === "INFO" || e.severity === "WARNING" || e.severity === "CRITICAL") &&
    (e.channel === null || typeof e.channel === "string") &&
    (e.value === null || typeof e.value === "number") &&
    (e.threshold === null || typeof e.threshold === "number");
  if (!ok) return null;
  return {
    ...e,
    description: typeof e.description === "string" ? e.description : "",
  } as AnomalyEvent;
}

/**
 * Reads `<dataDir>/anomalies.jsonl` line by line (memory bounded by the longest line and the
 * state's alarm capacity) into `state`'s active alarms, and into `incidents` when given (each
 * event's incident worked out again in file order, as the run that wrote it did). A missing file
 * restores nothing; a line that is not an anomaly event is logged (the first
 * {@linkcode LOGGED_BAD}) and counted.
 *
 * @example
 * ```ts
 * import { EngineState, nullLogger } from "../mod.ts";
 * import { restoreAlarms } from "./restore_alarms.ts";
 *
 * const state = new EngineState();
 * const { events, bad } = await restoreAlarms("./data", state, nullLogger);
 * state.alarms(); // what was active when the previous run stopped
 * ```
 */
export async function restoreAlarms(
  dataDir: string,
  state: EngineState,
  logger: Logger,
  incidents?: Incidents,
): Promise<RestoredAlarms> {
  const path = join(dataDir, FILES.anomalies);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { events: 0, bad: 0 };
    throw e;
  }
  const splitter = new LineSplitter({ maxLineLength: 1 << 20 });
  const out: RestoredAlarms = { events: 0, bad: 0 };
  let lineNo = 0;
  const apply = (lines: string[]) => {
    const events: AnomalyEvent[] = [];
    for (const line of lines) {
      lineNo++;
      if (line.trim() === "") continue;
      let event: AnomalyEvent | null = null;
      try {
        event = eventOf(JSON.parse(line));
      } catch { /* counted below */ }
      if (event) {
        events.push(event);
        continue;
      }
      if (++out.bad <= LOGGED_BAD) {
        logger.warn("not an anomaly event, skipped restoring alarms", {
          file: path,
          line: lineNo,
          text: line.slice(0, 200),
        });
      }
    }
    state.restoreAlarms(events);
    if (incidents) { for (const e of events) incidents.assign(e); }
    out.events += events.length;
  };
  const decoder = new TextDecoder();
  try {
    // readable closes the file when it ends or fails.
    for await (const chunk of file.readable) {
      apply(splitter.push(decoder.decode(chunk, { stream: true })));
    }
  } finally {
    apply(splitter.push(decoder.decode()));
    apply(splitter.flush());
  }
  return out;
}
