/**
 * `GET /machines`: every known machine with its status and last reading.
 * @module
 */
import { Hono } from "hono";
import type { EngineState } from "../engine/live_mod.ts";

/** The `/machines` sub-app, to mount at `/machines`. */
export function machinesRoutes(state: EngineState): Hono {
  return new Hono().get("/", (c) =>
    c.json({
      success: true,
      machines: state.machines().map((m) => ({
        id: m.id,
        status: m.status,
        last_reading: m.lastReading ? new Date(m.lastReading.timestamp).toISOString() : null,
        channels: m.lastReading?.channels ?? {},
      })),
    }));
}
