/**
 * The HTTP API: one Hono app mounting a small sub-app per resource, behind request logging, the
 * optional bearer token and the body size limit, with every error answered as JSON.
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  type EngineControl,
  type EngineState,
  type EventHub,
  type HistoryStore,
  type Logger,
  type Metrics,
  NotControllableError,
  nullLogger,
  type Sink,
  StatusTransitionError,
  UnknownMachineError,
} from "../engine/live_mod.ts";
import { alarmsRoutes } from "./alarms.ts";
import { analyticsRoutes } from "./analytics.ts";
import { anomaliesRoutes } from "./anomalies.ts";
import { controlRoutes } from "./control.ts";
import type { ErrorBody } from "./common.ts";
import { dataRoutes } from "./data.ts";
import { eventsRoutes } from "./events.ts";
import { healthRoutes } from "./health.ts";
import { historyRoutes } from "./history.ts";
import { machinesRoutes } from "./machines.ts";
import { staticRoutes } from "./static.ts";
import { metricsRoutes } from "./metrics.ts";
import {
  checkOrigin,
  limitBody,
  limitQuery,
  requestLog,
  requireToken,
  type ServedAt,
} from "./middleware.ts";
import { statusRoutes } from "./status.ts";

/** Options of {@linkcode createApp}. */
export interface ApiOptions {
  /**
   * When set, every write request (POST, PUT, PATCH, DELETE) needs
   * `Authorization: Bearer <token>`, else 401. Reads are never gated. Must not be empty.
   * @default {undefined} (no token: writes are open)
   */
  token?: string;
  /**
   * Where the server listens, to refuse a Host it is not served under (421, the DNS rebinding
   * guard) and a write whose Origin is another site (403); see {@linkcode checkOrigin}. `vigil
   * start` always sets it.
   * @default {undefined} (no Host or Origin check: for `app.request()` in tests and embedding)
   */
  served?: ServedAt;
  /** Where each request (method, path, status, ms) and each unexpected error is logged.
   * @default {nullLogger} */
  logger?: Logger;
  /** Largest request body accepted, in bytes; a larger one is a 413. @default {16384} */
  maxBodyBytes?: number;
  /** Sinks whose delivery counts `GET /health` shows (webhooks, InfluxDB). @default {[]} */
  sinks?: readonly Sink[];
  /** Longest query string (after `?`) accepted, in bytes; a longer one is a 414.
   * @default {4096} */
  maxQueryBytes?: number;
  /** The live settings behind `/control`; without it `/control` is not mounted.
   * @default {undefined} */
  control?: EngineControl;
  /** Stored readings behind `/history` and `/analytics`; without it they are not mounted.
   * @default {undefined} */
  history?: HistoryStore;
  /** The live fan-out behind `GET /events`; without it `/events` is not mounted.
   * @default {undefined} */
  events?: EventHub;
  /** The registry behind `GET /metrics`; without it `/metrics` is not mounted.
   * @default {undefined} */
  metrics?: Metrics;
}

/** The status of an error the API expects (a client mistake, a refused change), else `undefined`. */
function statusOf(err: Error): ContentfulStatusCode | undefined {
  if (err instanceof HTTPException) return err.status;
  if (err instanceof UnknownMachineError) return 404;
  if (err instanceof StatusTransitionError) return 400;
  if (err instanceof NotControllableError) return 409;
  return undefined;
}

/**
 * The methods `app`'s routes answer on a path, by the routes' patterns (`:name` one segment,
 * `*` anything): `path => ["GET", "HEAD", …]`, empty for a path no route has. Middleware
 * (`ALL`) is not a route. HEAD goes with GET, which Hono answers for it.
 */
function allowedMethods(app: Hono): (path: string) => string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => ({
    method: r.method,
    pattern: new RegExp(
      "^" +
        r.path.split("/").map((part) =>
          part === "*"
            ? ".*"
            : part.startsWith(":")
            ? "[^/]+"
            : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        ).join("/") + "$",
    ),
  }));
  return (path) => {
    const methods = new Set<string>();
    for (const r of routes) {
      if (!r.pattern.test(path)) continue;
      methods.add(r.method);
      if (r.method === "GET") methods.add("HEAD");
    }
    return [...methods];
  };
}

/**
 * The API app over `state`. Serve it with `Deno.serve(app.fetch)`, or call `app.request()` in
 * tests. Routes: `GET /data`, `GET|POST /status`, `GET /machines`, `GET /anomalies`,
 * `GET /alarms`, `GET /health`, and `/control`, `/history`, `/analytics`, `GET /events`, `GET /metrics` when
 * their options are given; all take and give JSON (but `/events` and `/metrics`), errors as
 * `{"success": false, "error": "…"}`; a known path asked with another method is a 405 with
 * `Allow`, and a query string over `maxQueryBytes` a 414.
 * @throws {RangeError} for an empty `token`, or a `maxBodyBytes` or `maxQueryBytes` that is not
 * a positive integer.
 *
 * @example
 * ```ts
 * const app = createApp(new EngineState());
 * (await app.request("/machines", { method: "DELETE" })).status; // 405, Allow: GET, HEAD
 * ```
 */
export function createApp(state: EngineState, options: ApiOptions = {}): Hono {
  const logger = options.logger ?? nullLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 16_384;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new RangeError(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const maxQueryBytes = options.maxQueryBytes ?? 4096;
  if (!Number.isInteger(maxQueryBytes) || maxQueryBytes < 1) {
    throw new RangeError(`maxQueryBytes must be a positive integer, got ${maxQueryBytes}`);
  }

  const app = new Hono();
  app.use(requestLog(logger));
  // Before the token: a rebound or cross-site request is refused whatever it carries.
  if (options.served) app.use(checkOrigin(options.served));
  // The token goes before the body limit so an unauthenticated client cannot make us read
  // its body at all.
  if (options.token !== undefined) app.use(requireToken(options.token));
  app.use(limitQuery(maxQueryBytes));
  app.use(limitBody(maxBodyBytes));

  app.route("/data", dataRoutes(state));
  app.route("/status", statusRoutes(state));
  app.route("/machines", machinesRoutes(state));
  app.route("/anomalies", anomaliesRoutes(state));
  app.route("/alarms", alarmsRoutes(state));
  app.route("/health", healthRoutes(state, options.sinks));
  if (options.control) app.route("/control", controlRoutes(options.control));
  if (options.history) {
    app.route("/history", historyRoutes(options.history, state));
    app.route("/analytics", analyticsRoutes(options.history, state));
  }
  if (options.events) app.route("/events", eventsRoutes(options.events));
  // The dashboard (`GET /`, `GET /assets/*`): embedded files, no option needed.
  app.route("/", staticRoutes());
  if (options.metrics) app.route("/metrics", metricsRoutes(options.metrics));

  // A known path asked with another method is a 405 naming the methods it takes, not a 404:
  // the client has the right place and the wrong verb.
  let allowed: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    allowed ??= allowedMethods(app);
    const methods = allowed(c.req.path);
    if (methods.length > 0 && !methods.includes(c.req.method)) {
      c.header("Allow", methods.join(", "));
      return c.json<ErrorBody>(
        {
          success: false,
          error: `Method ${c.req.method} not allowed on ${c.req.path}: use ${methods.join(", ")}`,
        },
        405,
      );
    }
    return c.json<ErrorBody>(
      { success: false, error: `Not found: ${c.req.method} ${c.req.path}` },
      404,
    );
  });

  app.onError((err, c) => {
    const status = statusOf(err);
    if (status !== undefined) {
      const error = err.message || (err instanceof HTTPException ? `HTTP ${status}` : err.name);
      return c.json<ErrorBody>({ success: false, error }, status);
    }
    // An unexpected error: its text may expose internals, so the client gets a generic one
    // and the log gets the real one.
    logger.error("unhandled error", {
      method: c.req.method,
      path: c.req.path,
      error: String(err.stack ?? err),
    });
    return c.json<ErrorBody>({ success: false, error: "Internal server error" }, 500);
  });

  return app;
}
