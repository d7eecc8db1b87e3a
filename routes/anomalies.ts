/**
 * `GET /anomalies?since=&severity=&type=&machine=&limit=`: recent anomaly events, newest last.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type EngineState, UnknownMachineError } from "../engine/mod.ts";
import { httpError } from "./common.ts";

const SEVERITIES = ["INFO", "WARNING", "CRITICAL"] as const;
const MAX_LIMIT = 10_000;

/** ISO 8601 date or date-time; `Date.parse` alone would also take formats like "May 1". */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Whether the `YYYY-MM-DD` that starts `text` exists: `Date.parse` rolls Feb 30 over to March. */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** A `since` value: epoch milliseconds or ISO 8601, to epoch milliseconds. */
const Since = z.string().transform((text, ctx) => {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_8601.test(text) && realDay(text)) {
    // A date-time without an offset is read as UTC, like every time the engine writes.
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/[T ]/i.test(text);
    const ms = Date.parse(hasZone ? text : `${text}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  ctx.addIssue({ code: "custom", message: "expected ISO 8601 or epoch milliseconds" });
  return z.NEVER;
});

const Limit = z.string().transform((text, ctx) => {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (n >= 1 && n <= MAX_LIMIT) return n;
  ctx.addIssue({ code: "custom", message: `expected an integer from 1 to ${MAX_LIMIT}` });
  return z.NEVER;
});

/** The query. Unknown parameters are ignored: a query string is not a closed document. */
const Query = z.object({
  since: Since.optional(),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(", ")}` }).optional(),
  type: z.string().max(100, { error: "expected at most 100 characters" }).optional(),
  machine: z.string().optional(),
  limit: Limit.optional(),
});

/** The `/anomalies` sub-app, to mount at `/anomalies`. */
export function anomaliesRoutes(state: EngineState): Hono {
  return new Hono().get("/", (c) => {
    const raw: Record<string, string> = {};
    for (const name of ["since", "severity", "type", "machine", "limit"]) {
      const value = c.req.query(name);
      // An empty parameter (`?severity=`) means "no filter": forms and dashboards send them.
      if (value !== undefined && value !== "") raw[name] = value;
    }
    const parsed = Query.safeParse(raw);
    if (!parsed.success) {
      throw httpError(
        400,
        parsed.error.issues.map((issue) => {
          const name = String(issue.path[0]);
          return `Invalid ${name} ${JSON.stringify(raw[name])}: ${issue.message}`;
        }).join("; "),
      );
    }
    const q = parsed.data;
    // An unknown machine is a 404 like everywhere else, so a typo is not an empty success.
    if (q.machine !== undefined && !state.machine(q.machine)) {
      throw new UnknownMachineError(q.machine);
    }
    const anomalies = state.anomalies({ ...q, limit: q.limit ?? 100 });
    return c.json({ success: true, count: anomalies.length, anomalies });
  });
}
