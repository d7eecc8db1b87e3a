/**
 * `GET /control` and `POST /control`: the live settings (running, z threshold, anomaly level,
 * fault rate), validated and applied at once.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import { ControlUnavailableError, type EngineControl } from "../engine/mod.ts";
import { httpError, readJson } from "./common.ts";
import { jsonBody } from "./middleware.ts";

const ControlBody = z.strictObject({
  running: z.boolean().optional(),
  z_threshold: z.number().gt(0).lte(100).optional(),
  anomaly_level: z.number().min(0).max(1).optional(),
  fault_rate: z.number().min(0).max(1).optional(),
  model_size: z.number().int().min(2).max(65_536).optional(),
});

const FIELDS =
  "running (boolean), z_threshold (0 < z <= 100), anomaly_level (0…1), fault_rate (0…1), " +
  "model_size (an integer 2…65536)";

/** The `/control` sub-app, to mount at `/control`. */
export function controlRoutes(control: EngineControl): Hono {
  return new Hono()
    .get("/", (c) => c.json({ success: true, data: control.get() }))
    .post("/", jsonBody(), async (c) => {
      const body = await readJson(c);
      const parsed = ControlBody.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        if (issue.code === "unrecognized_keys") {
          throw httpError(400, `Unknown field(s): ${issue.keys.join(", ")}; allowed: ${FIELDS}`);
        }
        if (issue.path.length === 0) {
          throw httpError(400, `The body must be a JSON object; fields: ${FIELDS}`);
        }
        const field = String(issue.path[0]);
        const value = (body as Record<string, unknown>)[field];
        throw httpError(400, `Invalid ${field} ${JSON.stringify(value)}: ${issue.message}`);
      }
      if (Object.keys(parsed.data).length === 0) {
        throw httpError(400, `Nothing to change; fields: ${FIELDS}`);
      }
      try {
        return c.json({ success: true, data: control.apply(parsed.data) });
      } catch (e) {
        if (e instanceof ControlUnavailableError) throw httpError(409, e.message);
        throw e;
      }
    });
}
