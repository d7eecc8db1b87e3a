/**
 * `GET /metrics`: the Prometheus text exposition (format 0.0.4) of a {@linkcode Metrics} registry.
 * @module
 */
import { Hono } from "hono";
import type { Metrics } from "../engine/live_mod.ts";

/** The content type Prometheus expects of the text format, version 0.0.4. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The `/metrics` sub-app, to mount at `/metrics`. Rendered on every scrape, never cached. */
export function metricsRoutes(metrics: Metrics): Hono {
  return new Hono().get("/", () =>
    new Response(metrics.render(), {
      headers: { "content-type": CONTENT_TYPE, "cache-control": "no-store" },
    }));
}
