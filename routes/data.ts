/**
 * `GET /data[?machine=ID]`: the machine's latest processed row.
 * @module
 */
import { Hono } from "hono";
import { type EngineState, rowToObject } from "../engine/live_mod.ts";
import { httpError } from "./common.ts";
import { requestedMachine } from "./_query.ts";

/** The `/data` sub-app, to mount at `/data`. */
export function dataRoutes(state: EngineState): Hono {
  return new Hono().get("/", (c) => {
    const id = requestedMachine(c, state);
    const view = state.machine(id)!;
    if (!view.lastRow) throw httpError(404, `No processed data yet for ${id}`);
    return c.json({
      success: true,
      timestamp: new Date().toISOString(),
      current_status: view.status,
      processed_data: rowToObject(view.lastRow),
    });
  });
}
