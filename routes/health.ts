/**
 * `GET /health`: liveness, per-source state, the delivering sinks' queues and running totals.
 * @module
 */
import { Hono } from "hono";
import type { EngineState, Sink } from "../engine/live_mod.ts";

/**
 * The `/health` sub-app, to mount at `/health`. `sinks` are asked for their delivery counts
 * (webhooks, InfluxDB: queued, delivered, dropped, rejected, failures per target) at each call.
 *
 * @example
 * ```ts
 * import { EngineState } from "../engine/live_mod.ts";
 * import { healthRoutes } from "./health.ts";
 *
 * const res = await healthRoutes(new EngineState()).request("/");
 * (await res.json()).status; // "ok"
 * ```
 */
export function healthRoutes(state: EngineState, sinks: readonly Sink[] = []): Hono {
  return new Hono().get("/", (c) => {
    const sources = state.sources();
    return c.json({
      success: true,
      // Still 200 when degraded: the API itself is alive; callers read `status`.
      status: sources.some((s) => s.state === "error" || s.state === "disconnected")
        ? "degraded"
        : "ok",
      uptime_s: Math.round(Date.now() - state.startedAt) / 1000,
      sources,
      sinks: sinks.flatMap((sink) =>
        (sink.health?.() ?? []).map((
          { sink, target, queued, delivered, dropped, rejected, failures },
        ) => ({
          sink,
          target,
          queued,
          delivered,
          dropped,
          rejected,
          failures,
        }))
      ),
      totals: { ...state.totals },
    });
  });
}
