/**
 * `GET /analytics?machine=&channel=&from=&to=&deviation=`: count, average, minimum and maximum of
 * one channel over a time range, and the readings more than `deviation` % (20 by default) from
 * the average.
 * @module
 */
import { Hono } from "hono";
import type { EngineState, HistoryStore } from "../engine/live_mod.ts";
import { httpError } from "./common.ts";
import {
  checkRange,
  Invalid,
  knownMachine,
  NameParam,
  Param,
  parseQuery,
  TimeParam,
} from "./_query.ts";

/** Largest `deviation` accepted, %: beyond it nothing real is an outlier, so it is a mistake. */
const MAX_DEVIATION = 10_000;

const Deviation = new Param((text) => {
  // Digits only: `Number()` would also take "0x10", "1e3" or " 5 ".
  const n = /^\d{1,5}(?:\.\d{1,6})?$/.test(text) ? Number(text) : NaN;
  if (n >= 0 && n <= MAX_DEVIATION) return n;
  return new Invalid(`expected a number from 0 to ${MAX_DEVIATION}`);
});

const Query = {
  machine: NameParam,
  channel: NameParam,
  from: TimeParam.optional(),
  to: TimeParam.optional(),
  deviation: Deviation.optional(),
};

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** The `/analytics` sub-app over `store`, to mount at `/analytics`; a machine neither `state`
 * (when given) nor `store` knows is a 404. */
export function analyticsRoutes(store: HistoryStore, state?: EngineState): Hono {
  return new Hono().get("/", (c) => {
    const q = parseQuery(c, Query, ["machine", "channel"]);
    checkRange(c, q.from, q.to);
    knownMachine(store, q.machine, state);
    const deviation = q.deviation ?? 20;
    const a = store.analytics({
      machine: q.machine,
      channel: q.channel,
      from: q.from,
      to: q.to,
      deviationPct: deviation,
    });
    if (a.count === 0) {
      // A 404 rather than zeros: an average of nothing is not 0, and a typo in the machine or
      // channel must not look like a quiet machine.
      throw httpError(
        404,
        `No readings of machine ${JSON.stringify(q.machine)} channel ${
          JSON.stringify(q.channel)
        } in the range`,
      );
    }
    return c.json({
      success: true,
      machine: q.machine,
      channel: q.channel,
      // The bounds asked for, else those of the data, so the answer always says what it covers.
      from: iso(q.from ?? a.first),
      to: iso(q.to ?? a.last),
      count: a.count,
      average: a.average,
      minimum: a.minimum,
      maximum: a.maximum,
      deviation_pct: deviation,
      outliers: a.outliers.map((o) => ({
        timestamp: iso(o.time),
        value: o.value,
        deviation_pct: o.deviation_pct,
      })),
      outliers_total: a.outliers_total,
    });
  });
}
