/**
 * Query-string parsing shared by the route sub-apps (private to `routes/`): time, name and
 * count parameters as zod schemas, one parser that turns zod's issues into a 400 naming each
 * parameter and the value given, the `from`/`to` range check, and the `?machine=` lookup.
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import { type EngineState, type HistoryStore, UnknownMachineError } from "../engine/mod.ts";
import { httpError } from "./common.ts";

/** ISO 8601 date or date-time; `Date.parse` alone would also take formats like "May 1". */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Whether the `YYYY-MM-DD` that starts `text` exists: `Date.parse` rolls Feb 30 over to March. */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/**
 * A time parameter: epoch milliseconds or ISO 8601, to epoch ms. A date-time without an offset
 * is read as UTC, like every time the engine writes.
 *
 * @example
 * ```ts
 * TimeParam.parse("2026-01-01T00:10:00Z"); // 1767226200000
 * TimeParam.parse("1767226200000"); // 1767226200000
 * TimeParam.safeParse("May 1").success; // false
 * ```
 */
export const TimeParam: z.ZodType<number, string> = z.string().transform((text, ctx) => {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_8601.test(text) && realDay(text)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/[T ]/i.test(text);
    const ms = Date.parse(hasZone ? text : `${text}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  ctx.addIssue({ code: "custom", message: "expected ISO 8601 or epoch milliseconds" });
  return z.NEVER;
});

/**
 * A machine or channel name: required, and short enough to be a name rather than a payload.
 *
 * @example
 * ```ts
 * NameParam.parse("m1"); // "m1"
 * NameParam.safeParse("").success; // false ("must not be empty")
 * ```
 */
export const NameParam: z.ZodType<string, string> = z.string().min(1, {
  error: "must not be empty",
}).max(200, { error: "expected at most 200 characters" });

/**
 * A count parameter (`last`, `limit`): an integer from 1 to `max`, digits only.
 *
 * @example
 * ```ts
 * const Limit = countParam(10_000);
 * Limit.parse("50"); // 50
 * Limit.safeParse("0").success; // false ("expected an integer from 1 to 10000")
 * ```
 */
export function countParam(max: number): z.ZodType<number, string> {
  return z.string().transform((text, ctx) => {
    const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
    if (n >= 1 && n <= max) return n;
    ctx.addIssue({ code: "custom", message: `expected an integer from 1 to ${max}` });
    return z.NEVER;
  });
}

/**
 * Reads the parameters of `schema`'s keys from the request's query and parses them with zod.
 * An empty parameter (`?from=`) counts as absent, because forms and dashboards send every
 * field, unless its name is in `required` (so that it is refused as empty, not as missing).
 * Unknown parameters are ignored: a query string is not a closed document. Throws one 400
 * naming each bad parameter and the value given (`Invalid last "0": expected …`,
 * `Missing parameter machine`).
 *
 * @example
 * ```ts
 * const Query = z.object({ machine: NameParam, from: TimeParam.optional() });
 * app.get("/", (c) => {
 *   const q = parseQuery(c, Query, ["machine"]); // { machine: string; from?: number }
 *   return c.json(q);
 * });
 * ```
 */
export function parseQuery<S extends z.ZodObject>(
  c: Context,
  schema: S,
  required: readonly (keyof z.input<S> & string)[] = [],
): z.output<S> {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = c.req.query(name);
    if (value !== undefined && (value !== "" || required.includes(name))) raw[name] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw httpError(
    400,
    parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const value = raw[name];
      return value === undefined
        ? `Missing parameter ${name}`
        : `Invalid ${name} ${JSON.stringify(value)}: ${issue.message}`;
    }).join("; "),
  );
}

/**
 * Refuses a range whose `from` is after its `to` with a 400 quoting both as the request gave
 * them; either bound may be absent.
 *
 * @example
 * ```ts
 * const q = parseQuery(c, Query, ["machine", "channel"]);
 * checkRange(c, q.from, q.to); // 400 `Invalid range: from "…" is after to "…"`
 * ```
 */
export function checkRange(c: Context, from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw httpError(
      400,
      `Invalid range: from ${JSON.stringify(c.req.query("from"))} is after to ${
        JSON.stringify(c.req.query("to"))
      }`,
    );
  }
}

/**
 * A query parameter, `undefined` when absent or empty (`?machine=`): dashboards often send
 * every filter, empty.
 *
 * @example
 * ```ts
 * const machine = optionalParam(c, "machine"); // "m1" for ?machine=m1, undefined for ?machine=
 * ```
 */
export function optionalParam(c: Context, name: string): string | undefined {
  const value = c.req.query(name);
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The machine a request is about: `?machine=ID` if given, else the engine's default machine.
 * Throws {@linkcode UnknownMachineError} (404) for a machine the engine has never seen, and a
 * 404 when no machine is known at all yet.
 *
 * @example
 * ```ts
 * app.get("/", (c) => c.json({ machine: requestedMachine(c, state) }));
 * ```
 */
export function requestedMachine(c: Context, state: EngineState): string {
  const asked = optionalParam(c, "machine");
  if (asked !== undefined) {
    if (!state.machine(asked)) throw new UnknownMachineError(asked);
    return asked;
  }
  const fallback = state.defaultMachine();
  if (fallback === undefined) throw httpError(404, "No machine known yet: no reading received");
  return fallback;
}

/**
 * Throws a 404 (`Unknown machine: ID`, as {@linkcode UnknownMachineError} everywhere else) when
 * neither the engine (`state`, when given) nor the history knows `machine`: a typo must not
 * answer as a quiet machine. The engine's word counts too because a machine's first readings
 * reach the history a moment after the engine has listed it.
 *
 * @example
 * ```ts
 * knownMachine(store, q.machine, state); // throws a 404 for a machine never seen
 * ```
 */
export function knownMachine(store: HistoryStore, machine: string, state?: EngineState): void {
  if (state?.machine(machine) || store.hasMachine(machine)) return;
  // An HTTPException rather than UnknownMachineError: the sub-app answers the same JSON 404
  // wherever it is mounted, with or without createApp's error mapping.
  throw httpError(404, new UnknownMachineError(machine).message);
}
