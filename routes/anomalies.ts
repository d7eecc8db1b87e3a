/**
 * `GET /anomalies?since=&severity=&type=&machine=&limit=`: recent anomaly events, newest last.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { type EngineState, UnknownMachineError } from "../engine/mod.ts";
import { countParam, parseQuery, TimeParam } from "./_query.ts";

const SEVERITIES = ["INFO", "WARNING", "CRITICAL"] as const;
const MAX_LIMIT = 10_000;

/** The query. Unknown parameters are ignored: a query string is not a closed document. */
const Query = z.object({
  since: TimeParam.optional(),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(", ")}` }).optional(),
  type: z.string().max(100, { error: "expected at most 100 characters" }).optional(),
  machine: z.string().optional(),
  limit: countParam(MAX_LIMIT).optional(),
});

/** The `/anomalies` sub-app, to mount at `/anomalies`. */
export function anomaliesRoutes(state: EngineState): Hono {
  return new Hono().get("/", (c) => {
    // An empty parameter (`?severity=`) means "no filter": forms and dashboards send them.
    const q = parseQuery(c, Query);
    // An unknown machine is a 404 like everywhere else, so a typo is not an empty success.
    if (q.machine !== undefined && !state.machine(q.machine)) {
      throw new UnknownMachineError(q.machine);
    }
    const anomalies = state.anomalies({ ...q, limit: q.limit ?? 100 });
    return c.json({ success: true, count: anomalies.length, anomalies });
  });
}
