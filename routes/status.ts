/**
 * `GET /status` (the machine's latest reading) and `POST /status` (change the machine's status
 * through the engine's controller, per the contract's transition table).
 * @module
 */
import { Hono } from "hono";
import { type EngineState, MACHINE_STATUSES } from "../engine/live_mod.ts";
import { httpError, readJson, statusData } from "./common.ts";
import { requestedMachine } from "./_query.ts";
import { jsonBody } from "./middleware.ts";

const ALLOWED = MACHINE_STATUSES.join(", ");

type Status = typeof MACHINE_STATUSES[number];

/**
 * `POST /status`'s status, or the 400's `error`: one sentence per problem, naming the field and
 * value. Strict: an unknown field is refused rather than ignored, so a typo such as
 * `{"stauts": …}` cannot look like success. Hand-written rather than a zod schema (with the
 * same answers as the one it replaced): the live engine then never loads zod (BENCHMARKS.md,
 * "Live peak RSS under the MQTT flood").
 */
function statusOf(body: unknown): Status | { error: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { error: `The body must be a JSON object {"status": "<status>"}` };
  }
  const fields = body as Record<string, unknown>;
  const problems: string[] = [];
  const value = fields.status;
  if (!(MACHINE_STATUSES as readonly unknown[]).includes(value)) {
    problems.push(
      value === undefined
        ? `Missing field "status"; allowed: ${ALLOWED}`
        : typeof value !== "string"
        ? `Field "status" must be a string, got ${JSON.stringify(value)}`
        : `Unknown status ${JSON.stringify(value)}; allowed: ${ALLOWED}`,
    );
  }
  const unknown = Object.keys(fields).filter((k) => k !== "status");
  if (unknown.length > 0) {
    problems.push(`Unknown field(s): ${unknown.join(", ")}; the body is {"status": "<status>"}`);
  }
  return problems.length > 0 ? { error: problems.join("; ") } : value as Status;
}

/** The `/status` sub-app, to mount at `/status`. */
export function statusRoutes(state: EngineState): Hono {
  return new Hono()
    .get("/", (c) => {
      const id = requestedMachine(c, state);
      const reading = state.machine(id)!.lastReading;
      if (!reading) throw httpError(404, `No reading yet for ${id}`);
      return c.json({ success: true, data: statusData(reading) });
    })
    .post("/", jsonBody(), async (c) => {
      // Everything is checked before `setStatus`, which itself checks the transition and the
      // controller before acting: a refused request changes nothing.
      const id = requestedMachine(c, state);
      const body = await readJson(c);
      const status = statusOf(body);
      if (typeof status !== "string") throw httpError(400, status.error);
      const reading = await state.setStatus(id, status);
      return c.json({ success: true, data: statusData(reading) });
    });
}
