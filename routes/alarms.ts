/**
 * `GET /alarms?machine=&severity=&group=`: the alarms active now (raised and not yet cleared),
 * the most severe first, then the longest active; with `group=incident`, grouped by incident.
 * @module
 */
import { Hono } from "hono";
import { type EngineState, groupByIncident, UnknownMachineError } from "../engine/live_mod.ts";
import { NameParam, oneOf, parseQuery } from "./_query.ts";

/** An active alarm is never INFO: an INFO event clears. */
const SEVERITIES = ["WARNING", "CRITICAL"] as const;

/** The query. Unknown parameters are ignored: a query string is not a closed document. */
const Query = {
  machine: NameParam.optional(),
  severity: oneOf(SEVERITIES, `expected one of ${SEVERITIES.join(", ")}`).optional(),
  group: oneOf(["incident"], "expected incident").optional(),
};

/**
 * The `/alarms` sub-app, to mount at `/alarms`. Answers
 * `{"success": true, "count": N, "evicted": E, "alarms": [...]}` (`count`: the alarms in this
 * answer; `evicted`: alarms dropped since start to stay within the state's capacity); with
 * `?group=incident`, `{"success": true, "count": N, "evicted": E, "incidents": [...]}` (`count`:
 * the incidents). An unknown `?machine=` is a 404, a bad `?severity=` or `?group=` a 400.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { EngineState } from "../engine/live_mod.ts";
 * import { alarmsRoutes } from "./alarms.ts";
 *
 * const app = new Hono().route("/alarms", alarmsRoutes(new EngineState()));
 * const res = await app.request("/alarms?severity=CRITICAL"); // {"success":true,"count":0,…}
 * ```
 */
export function alarmsRoutes(state: EngineState): Hono {
  return new Hono().get("/", (c) => {
    // An empty parameter (`?severity=`) means "no filter": forms and dashboards send them.
    const q = parseQuery(c, Query);
    // An unknown machine is a 404 like everywhere else, so a typo is not an empty success.
    if (q.machine !== undefined && !state.machine(q.machine)) {
      throw new UnknownMachineError(q.machine);
    }
    const alarms = state.alarms(q);
    if (q.group === "incident") {
      const incidents = groupByIncident(alarms);
      return c.json({
        success: true,
        count: incidents.length,
        evicted: state.alarmsEvicted,
        incidents,
      });
    }
    return c.json({
      success: true,
      count: alarms.length,
      evicted: state.alarmsEvicted,
      alarms,
    });
  });
}
