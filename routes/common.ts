/**
 * Helpers shared by the route sub-apps: failing with a status, picking the machine a request
 * names, shaping a reading as `/status` serves it, reading a JSON body.
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type EngineState, type Reading, UnknownMachineError } from "../engine/mod.ts";

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

/**
 * The machine a request is about: `?machine=ID` if given, else the engine's default machine.
 * Throws {@linkcode UnknownMachineError} (404) for a machine the engine has never seen, and a
 * 404 when no machine is known at all yet.
 */
export function requestedMachine(c: Context, state: EngineState): string {
  const asked = c.req.query("machine");
  // An empty `?machine=` is treated as absent: dashboards often send every filter, empty.
  if (asked !== undefined && asked !== "") {
    if (!state.machine(asked)) throw new UnknownMachineError(asked);
    return asked;
  }
  const fallback = state.defaultMachine();
  if (fallback === undefined) throw httpError(404, "No machine known yet: no reading received");
  return fallback;
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
