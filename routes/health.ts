/**
 * `GET /health`: liveness, per-source state and running totals.
 * @module
 */
import { Hono } from "hono";
import type { EngineState } from "../engine/mod.ts";

/** The `/health` sub-app, to mount at `/health`. */
export function healthRoutes(state: EngineState): Hono {
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
      totals: { ...state.totals },
    });
  });
}
