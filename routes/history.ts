/**
 * `GET /history?machine=&channel=&last=N` or `…&from=&to=`: stored readings of one channel with
 * their algorithm results (moving average and standard deviation, z-score, the z threshold in
 * force, the anomaly flag, the anomaly ratio, the event flag), oldest first.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { HistoryStore } from "../engine/mod.ts";
import { httpError } from "./common.ts";

/** Largest `last`; also the cap of a `from`/`to` query without `last`. */
export const MAX_LAST = 100_000;
const DEFAULT_LAST = 1000;

/** ISO 8601 date or date-time; `Date.parse` alone would also take formats like "May 1". */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Whether the `YYYY-MM-DD` that starts `text` exists: `Date.parse` rolls Feb 30 over to March. */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** A time parameter: epoch milliseconds or ISO 8601 (UTC when it names no offset), to epoch ms. */
export const TimeParam: z.ZodType<number, string> = z.string().transform((text, ctx) => {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_8601.test(text) && realDay(text)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/[T ]/i.test(text);
    const ms = Date.parse(hasZone ? text : `${text}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  ctx.addIssue({ code: "custom", message: "expected ISO 8601 or epoch milliseconds" });
  return z.NEVER;
});

/** A machine or channel name: required, and short enough to be a name rather than a payload. */
export const NameParam: z.ZodType<string, string> = z.string().min(1, {
  error: "must not be empty",
}).max(200, { error: "expected at most 200 characters" });

const Last = z.string().transform((text, ctx) => {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (n >= 1 && n <= MAX_LAST) return n;
  ctx.addIssue({ code: "custom", message: `expected an integer from 1 to ${MAX_LAST}` });
  return z.NEVER;
});

const Query = z.object({
  machine: NameParam,
  channel: NameParam,
  last: Last.optional(),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
});

/**
 * Reads the parameters `names` of the query into an object for zod, and turns zod's issues
 * into one 400 naming each parameter and the value given. An empty optional parameter
 * (`?from=`) counts as absent, because forms and dashboards send every field.
 */
export function parseQuery<T>(
  query: (name: string) => string | undefined,
  names: readonly string[],
  required: readonly string[],
  schema: z.ZodType<T, Record<string, string>>,
): T {
  const raw: Record<string, string> = {};
  for (const name of names) {
    const value = query(name);
    if (value !== undefined && (value !== "" || required.includes(name))) raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw httpError(
    400,
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const value = raw[name];
      return value === undefined
        ? `Missing parameter ${name}`
        : `Invalid ${name} ${JSON.stringify(value)}: ${issue.message}`;
    }).join("; "),
  );
}

/** The `/history` sub-app over `store`, to mount at `/history`. */
export function historyRoutes(store: HistoryStore): Hono {
  return new Hono().get("/", (c) => {
    const q = parseQuery(
      (name) => c.req.query(name),
      ["machine", "channel", "last", "from", "to"],
      ["machine", "channel"],
      Query,
    );
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
      throw httpError(
        400,
        `Invalid range: from ${JSON.stringify(c.req.query("from"))} is after to ${
          JSON.stringify(c.req.query("to"))
        }`,
      );
    }
    // Without a range the default keeps the answer small; with one, the range bounds it and
    // MAX_LAST only guards against an answer of millions of readings.
    const ranged = q.from !== undefined || q.to !== undefined;
    const last = q.last ?? (ranged ? MAX_LAST : DEFAULT_LAST);
    const entries = store.history({
      machine: q.machine,
      channel: q.channel,
      last,
      from: q.from,
      to: q.to,
    });
    return c.json({
      success: true,
      machine: q.machine,
      channel: q.channel,
      count: entries.length,
      readings: entries.map((e) => ({
        timestamp: new Date(e.time).toISOString(),
        value: e.value,
        mean: e.mean,
        std: e.std,
        zscore: e.zscore,
        threshold: e.threshold,
        anomaly: e.anomaly,
        anomaly_ratio: e.anomaly_ratio,
        event: e.event,
      })),
    });
  });
}
