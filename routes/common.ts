/**
 * Helpers shared by the route sub-apps: failing with a status, shaping a reading as `/status`
 * serves it, reading a JSON body. Query parameters are read by `_query.ts`.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Reading } from "../engine/live_mod.ts";

/** Body of every error answer: the contract's `{"success": false, "error": "…"}`. */
export interface ErrorBody {
  success: false;
  error: string;
}

/**
 * An {@linkcode HTTPException} carrying `message` as the error text; the app's `onError`
 * turns it into {@linkcode ErrorBody} with `status`.
 */
export function httpError(status: ContentfulStatusCode, message: string): HTTPException {
  return new HTTPException(status, { message });
}

/** A channel or status value as `/status` serves it. */
export type StatusValue = string | number | null;

/**
 * A reading as `/status` serves it: `timestamp` (ISO 8601), `temperature`, `speed` (`null`
 * when the machine has no such channel, so clients can rely on the keys), `status`, then every
 * other channel in input order.
 */
export function statusData(reading: Reading): Record<string, StatusValue> {
  const { temperature = null, speed = null, ...others } = reading.channels;
  return {
    timestamp: new Date(reading.timestamp).toISOString(),
    temperature,
    speed,
    status: reading.status,
    ...others,
  };
}

/**
 * Parses the request body as JSON; a body that is not JSON is a 400 naming the parse error.
 * Reads the text first (rather than `c.req.json()`) so the error is ours, not a generic one.
 */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = text.trim() === "" ? "empty body" : (e as Error).message;
    throw httpError(400, `Malformed JSON body: ${why}`);
  }
}
