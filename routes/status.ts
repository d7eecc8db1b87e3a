/**
 * `GET /status` (the machine's latest reading) and `POST /status` (change the machine's status
 * through the engine's controller, per the contract's transition table).
 * @module
 */
import { Hono } from "hono";
import type { z } from "zod";
import { type EngineState, MACHINE_STATUSES } from "../engine/live_mod.ts";
import { httpError, readJson, statusData } from "./common.ts";
import { requestedMachine } from "./_query.ts";
import { jsonBody } from "./middleware.ts";

const ALLOWED = MACHINE_STATUSES.join(", ");

/**
 * `POST /status`'s body. Strict: an unknown field is refused rather than ignored, so a typo
 * such as `{"stauts": …}` cannot look like success. Made on the first `POST /status`: zod is
 * loaded then, not with the API (BENCHMARKS.md, "Live peak RSS under the MQTT flood").
 */
let StatusBody: Promise<z.ZodType<{ status: typeof MACHINE_STATUSES[number] }>> | undefined;

/** One sentence per problem, naming the field and value, for the 400's `error`. */
function describeIssues(body: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const fields = typeof body === "object" && body !== null ? body as Record<string, unknown> : {};
  return issues.map((issue) => {
    if (issue.path.length === 0) {
      if (issue.code === "unrecognized_keys") {
        return `Unknown field(s): ${issue.keys.join(", ")}; the body is {"status": "<status>"}`;
      }
      return `The body must be a JSON object {"status": "<status>"}`;
    }
    const value = fields.status;
    if (value === undefined) return `Missing field "status"; allowed: ${ALLOWED}`;
    if (typeof value !== "string") {
      return `Field "status" must be a string, got ${JSON.stringify(value)}`;
    }
    return `Unknown status ${JSON.stringify(value)}; allowed: ${ALLOWED}`;
  }).join("; ");
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
      StatusBody ??= import("zod").then(({ z }) =>
        z.strictObject({ status: z.enum(MACHINE_STATUSES) })
      );
      const parsed = (await StatusBody).safeParse(body);
      if (!parsed.success) throw httpError(400, describeIssues(body, parsed.error.issues));
      const reading = await state.setStatus(id, parsed.data.status);
      return c.json({ success: true, data: statusData(reading) });
    });
}
