/**
 * `GET /control` and `POST /control`: the live settings (running, z threshold, anomaly level,
 * fault rate), validated and applied at once.
 * @module
 */
import { Hono } from "hono";
import type { z } from "zod";
import { ControlUnavailableError, type EngineControl } from "../engine/live_mod.ts";
import { httpError, readJson } from "./common.ts";
import { jsonBody } from "./middleware.ts";

function controlBody(zod: typeof z) {
  return zod.strictObject({
    running: zod.boolean().optional(),
    z_threshold: zod.number().gt(0).lte(100).optional(),
    anomaly_level: zod.number().min(0).max(1).optional(),
    fault_rate: zod.number().min(0).max(1).optional(),
    model_size: zod.number().int().min(2).max(65_536).optional(),
  });
}

/**
 * The body's schema, made on the first `POST /control`: zod is loaded then, not with the API
 * (about 2.7 MiB of the live engine's heap that a run without control requests never needs;
 * BENCHMARKS.md, "Live peak RSS under the MQTT flood").
 */
let ControlBody: Promise<ReturnType<typeof controlBody>> | undefined;

const FIELDS =
  "running (boolean), z_threshold (0 < z <= 100), anomaly_level (0…1), fault_rate (0…1), " +
  "model_size (an integer 2…65536)";

/** The `/control` sub-app, to mount at `/control`. */
export function controlRoutes(control: EngineControl): Hono {
  return new Hono()
    .get("/", (c) => c.json({ success: true, data: control.get() }))
    .post("/", jsonBody(), async (c) => {
      const body = await readJson(c);
      ControlBody ??= import("zod").then(({ z }) => controlBody(z));
      const parsed = (await ControlBody).safeParse(body);
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
