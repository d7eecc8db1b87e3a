/**
 * How the delivery machinery (spool and loop) speaks in the log: every message starts with the
 * sink's name and carries the fields that name the target first, so that one search finds one
 * target's story whatever the sink, and no message repeats the prefix by hand.
 * @module
 */
import type { Logger } from "../../core/logger.ts";

/** Who speaks: the sink, what it delivers and to which target. */
export interface DeliveryLog {
  logger: Logger;
  /** The sink's name, first word of every message (`webhook`). */
  name: string;
  /** What one item is, plural, in messages and as a field name (`events`). */
  noun: string;
  /** Fields on every line, naming the target without secrets (`{ url: "https://h/p" }`). */
  fields: Readonly<Record<string, unknown>>;
}

/**
 * Logs `<name> <message>` at `level` with the target's fields, then `fields`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "../../core/logger.ts";
 *
 * const log = { logger: consoleLogger, name: "webhook", noun: "events", fields: { url: "http://h/x" } };
 * report(log, "warn", "queue full, oldest events dropped", { dropped: 3 });
 * // with a real logger: "webhook queue full, oldest events dropped" with { url: "http://h/x", dropped: 3 }
 * ```
 */
export function report(
  log: DeliveryLog,
  level: "info" | "warn" | "error",
  message: string,
  fields: Record<string, unknown> = {},
): void {
  // The level's own method, not `logger.log`: that is what sinks have always called.
  log.logger[level](`${log.name} ${message}`, { ...log.fields, ...fields });
}
