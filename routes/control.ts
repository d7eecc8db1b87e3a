/**
 * `GET /control` and `POST /control`: the live settings (running, z threshold, anomaly level,
 * fault rate), validated and applied at once.
 * @module
 */
import { Hono } from "hono";
import { ControlUnavailableError, type EngineControl } from "../engine/live_mod.ts";
import { httpError, readJson } from "./common.ts";
import { jsonBody } from "./middleware.ts";

/** The changes a valid body asks for, in the order of {@linkcode FIELDS}. */
interface ControlChanges {
  running?: boolean;
  z_threshold?: number;
  anomaly_level?: number;
  fault_rate?: number;
  model_size?: number;
}

/** What JSON value `x` is, in the words of the messages below. */
function kindOf(x: unknown): string {
  return x === null ? "null" : Array.isArray(x) ? "array" : typeof x;
}

/** Why `x` is not a finite number (zod's words: `JSON.parse` reads `1e400` as `Infinity`, which
 * zod refuses as a type, before any bound), or undefined when it is one. */
function notNumber(x: unknown): string | undefined {
  if (typeof x !== "number") return `Invalid input: expected number, received ${kindOf(x)}`;
  if (!Number.isFinite(x)) return `Invalid input: expected number, received ${x}`;
  return undefined;
}

/** A number in `[lo, hi]` (`lo` excluded when `openLo`), else why not. */
function inRange(x: unknown, lo: number, hi: number, openLo = false): string | undefined {
  const type = notNumber(x);
  if (type !== undefined || typeof x !== "number") return type;
  if (openLo ? !(x > lo) : !(x >= lo)) {
    return `Too small: expected number to be ${openLo ? ">" : ">="}${lo}`;
  }
  if (!(x <= hi)) return `Too big: expected number to be <=${hi}`;
  return undefined;
}

/**
 * Each field's check: undefined when the value is valid, else the reason. Hand-written rather
 * than a zod schema, with zod's words (the answers of the zod schema this replaced are
 * unchanged): the live engine then never loads zod, about 2.7 MiB of its heap (BENCHMARKS.md,
 * "Live peak RSS under the MQTT flood").
 */
const CHECKS: Record<keyof ControlChanges, (x: unknown) => string | undefined> = {
  running: (x) =>
    typeof x === "boolean" ? undefined : `Invalid input: expected boolean, received ${kindOf(x)}`,
  z_threshold: (x) => inRange(x, 0, 100, true),
  anomaly_level: (x) => inRange(x, 0, 1),
  fault_rate: (x) => inRange(x, 0, 1),
  model_size: (x) => {
    const type = notNumber(x);
    if (type !== undefined || typeof x !== "number") return type;
    if (!Number.isInteger(x)) return "Invalid input: expected int, received number";
    if (x > Number.MAX_SAFE_INTEGER) {
      return `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`;
    }
    if (x < Number.MIN_SAFE_INTEGER) {
      return `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`;
    }
    return inRange(x, 2, 65_536);
  },
};

/**
 * The changes `body` asks for, or the 400's message: the first bad field in the order above,
 * else the unknown fields, else a body that is no JSON object.
 */
function controlChanges(body: unknown): ControlChanges | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return `The body must be a JSON object; fields: ${FIELDS}`;
  }
  const fields = body as Record<string, unknown>;
  const changes: Record<string, unknown> = {};
  for (const [field, check] of Object.entries(CHECKS)) {
    if (!Object.hasOwn(fields, field)) continue;
    const value = fields[field];
    const reason = check(value);
    if (reason !== undefined) return `Invalid ${field} ${JSON.stringify(value)}: ${reason}`;
    changes[field] = value;
  }
  const unknown = Object.keys(fields).filter((k) => !Object.hasOwn(CHECKS, k));
  if (unknown.length > 0) return `Unknown field(s): ${unknown.join(", ")}; allowed: ${FIELDS}`;
  return changes as ControlChanges;
}

const FIELDS =
  "running (boolean), z_threshold (0 < z <= 100), anomaly_level (0…1), fault_rate (0…1), " +
  "model_size (an integer 2…65536)";

/** The `/control` sub-app, to mount at `/control`. */
export function controlRoutes(control: EngineControl): Hono {
  return new Hono()
    .get("/", (c) => c.json({ success: true, data: control.get() }))
    .post("/", jsonBody(), async (c) => {
      const body = await readJson(c);
      const changes = controlChanges(body);
      if (typeof changes === "string") throw httpError(400, changes);
      if (Object.keys(changes).length === 0) {
        throw httpError(400, `Nothing to change; fields: ${FIELDS}`);
      }
      try {
        return c.json({ success: true, data: control.apply(changes) });
      } catch (e) {
        if (e instanceof ControlUnavailableError) throw httpError(409, e.message);
        throw e;
      }
    });
}
