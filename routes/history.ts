/**
 * `GET /history?machine=&channel=&last=N` or `…&from=&to=`: stored readings of one channel with
 * their algorithm results (moving average and standard deviation, z-score, the z threshold in
 * force, the anomaly flag, the anomaly ratio, the event flag), oldest first.
 * @module
 */
import { Hono } from "hono";
import type { EngineState, HistoryStore } from "../engine/live_mod.ts";
import {
  checkRange,
  countParam,
  knownMachine,
  NameParam,
  parseQuery,
  TimeParam,
} from "./_query.ts";

/** Largest `last`; also the cap of a `from`/`to` query without `last`. */
export const MAX_LAST = 100_000;
const DEFAULT_LAST = 1000;

const Query = {
  machine: NameParam,
  channel: NameParam,
  last: countParam(MAX_LAST).optional(),
  from: TimeParam.optional(),
  to: TimeParam.optional(),
};

/** The `/history` sub-app over `store`, to mount at `/history`; a machine neither `state` (when
 * given) nor `store` knows is a 404. */
export function historyRoutes(store: HistoryStore, state?: EngineState): Hono {
  return new Hono().get("/", (c) => {
    const q = parseQuery(c, Query, ["machine", "channel"]);
    checkRange(c, q.from, q.to);
    knownMachine(store, q.machine, state);
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
