/**
 * `GET /anomalies?since=&severity=&type=&machine=&limit=`: recent anomaly events, newest last.
 * @module
 */
import { Hono } from "hono";
import { type EngineState, UnknownMachineError } from "../engine/live_mod.ts";
import { countParam, oneOf, parseQuery, textParam, TimeParam } from "./_query.ts";

const SEVERITIES = ["INFO", "WARNING", "CRITICAL"] as const;
const MAX_LIMIT = 10_000;

/** The query. Unknown parameters are ignored: a query string is not a closed document. */
const Query = {
  since: TimeParam.optional(),
  severity: oneOf(SEVERITIES, `expected one of ${SEVERITIES.join(", ")}`).optional(),
  type: textParam(100, "expected at most 100 characters").optional(),
  machine: textParam(Infinity, "").optional(),
  limit: countParam(MAX_LIMIT).optional(),
};

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
