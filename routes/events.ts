/**
 * `GET /events[?machine=ID]`: the live `text/event-stream` of readings, processed rows and
 * anomalies, served from an {@linkcode EventHub}.
 * @module
 */
import { Hono } from "hono";
import { type EventHub, EventHubClosedError, TooManyClientsError } from "../engine/live_mod.ts";
import type { ErrorBody } from "./common.ts";
import { optionalParam } from "./_query.ts";

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "connection": "keep-alive",
};

/**
 * The `/events` sub-app, to mount at `/events`. `?machine=ID` keeps only that machine's events
 * (an empty value means every machine, as elsewhere in the API; an id not seen yet is not an
 * error, since its events may still come). The stream ends when the client goes away (the
 * request's signal). When the hub is full or shutting down the answer is a 503 with the
 * contract's `{"success": false, "error": "…"}` body.
 */
export function eventsRoutes(hub: EventHub): Hono {
  return new Hono().get("/", (c) => {
    const machine = optionalParam(c, "machine");
    let body: ReadableStream<Uint8Array>;
    try {
      body = hub.subscribe({ machine, signal: c.req.raw.signal });
    } catch (e) {
      // Answered here rather than thrown to the app's onError so the sub-app gives the same
      // JSON 503 wherever it is mounted (createApp maps no status for these errors).
      if (e instanceof TooManyClientsError || e instanceof EventHubClosedError) {
        return c.json<ErrorBody>({ success: false, error: e.message }, 503);
      }
      throw e;
    }
    return new Response(body, { headers: SSE_HEADERS });
  });
}
