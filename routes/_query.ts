/**
 * Query-string parsing shared by the route sub-apps (private to `routes/`): time, name and
 * count parameters, one parser that turns their issues into a 400 naming each parameter and
 * the value given, the `from`/`to` range check, and the `?machine=` lookup.
 * @module
 */
import type { Context } from "hono";
import { type EngineState, type HistoryStore, UnknownMachineError } from "../engine/live_mod.ts";
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

/** What a parameter's parser returns for a bad value: the message after `Invalid NAME "VALUE": `. */
export class Invalid {
  /** The reason, without the parameter's name or value. */
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/**
 * One query parameter: how its text becomes a value (or an {@linkcode Invalid}), and whether it
 * may be absent. Hand-written rather than zod schemas: the live engine then never loads zod
 * (about 2.7 MiB of its heap, BENCHMARKS.md "Live peak RSS under the MQTT flood"), and every
 * message here was a custom one anyway.
 *
 * @example
 * ```ts
 * const Level = new Param((text) => text === "high" ? 2 : new Invalid("expected high"));
 * Level.read("high"); // 2
 * Level.optional().isOptional; // true
 * ```
 */
export class Param<T, Optional extends boolean = false> {
  /** The value of `text`, or why it is refused. */
  readonly read: (text: string) => T | Invalid;
  /** Whether the parameter may be absent (or empty, unless it is required by name). */
  readonly isOptional: Optional;
  constructor(read: (text: string) => T | Invalid, isOptional = false as Optional) {
    this.read = read;
    this.isOptional = isOptional;
  }

  /** The same parameter, allowed to be absent. */
  optional(): Param<T, true> {
    return new Param(this.read, true);
  }
}

/**
 * A parameter that is one of `values`, refused with `message` otherwise.
 *
 * @example
 * ```ts
 * const Group = oneOf(["incident"], "expected incident");
 * Group.read("incident"); // "incident"
 * ```
 */
export function oneOf<const V extends string>(values: readonly V[], message: string): Param<V> {
  return new Param((text) => values.includes(text as V) ? text as V : new Invalid(message));
}

/**
 * A text parameter of at most `max` characters, refused with `message` when longer.
 *
 * @example
 * ```ts
 * textParam(100, "expected at most 100 characters").read("x"); // "x"
 * ```
 */
export function textParam(max: number, message: string): Param<string> {
  return new Param((text) => text.length <= max ? text : new Invalid(message));
}

/**
 * A time parameter: epoch milliseconds or ISO 8601, to epoch ms. A date-time without an offset
 * is read as UTC, like every time the engine writes.
 *
 * @example
 * ```ts
 * TimeParam.read("2026-01-01T00:10:00Z"); // 1767226200000
 * TimeParam.read("1767226200000"); // 1767226200000
 * TimeParam.read("May 1") instanceof Invalid; // true
 * ```
 */
export const TimeParam: Param<number> = new Param((text) => {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_8601.test(text) && realDay(text)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/[T ]/i.test(text);
    const ms = Date.parse(hasZone ? text : `${text}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  return new Invalid("expected ISO 8601 or epoch milliseconds");
});

/**
 * A machine or channel name: required, and short enough to be a name rather than a payload.
 *
 * @example
 * ```ts
 * NameParam.read("m1"); // "m1"
 * NameParam.read(""); // Invalid "must not be empty"
 * ```
 */
export const NameParam: Param<string> = new Param((text) =>
  text.length === 0
    ? new Invalid("must not be empty")
    : text.length > 200
    ? new Invalid("expected at most 200 characters")
    : text
);

/**
 * A count parameter (`last`, `limit`): an integer from 1 to `max`, digits only.
 *
 * @example
 * ```ts
 * const Limit = countParam(10_000);
 * Limit.read("50"); // 50
 * Limit.read("0"); // Invalid "expected an integer from 1 to 10000"
 * ```
 */
export function countParam(max: number): Param<number> {
  return new Param((text) => {
    const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
    if (n >= 1 && n <= max) return n;
    return new Invalid(`expected an integer from 1 to ${max}`);
  });
}

/** A query's parameters by name. */
export type Query = Record<string, Param<unknown, boolean>>;

/** What {@linkcode parseQuery} answers for `Q`: an optional parameter's key only when given. */
export type QueryValues<Q extends Query> =
  & {
    [K in keyof Q as Q[K] extends Param<unknown, true> ? never : K]: Q[K] extends
      Param<infer T, boolean> ? T : never;
  }
  & {
    [K in keyof Q as Q[K] extends Param<unknown, true> ? K : never]?: Q[K] extends
      Param<infer T, boolean> ? T : never;
  };

/**
 * Reads the parameters of `query` from the request's query string and parses each, in the
 * order of `query`'s keys. An empty parameter (`?from=`) counts as absent, because forms and
 * dashboards send every field, unless its name is in `required` (so that it is refused as
 * empty, not as missing). Unknown parameters are ignored: a query string is not a closed
 * document. Throws one 400 naming each bad parameter and the value given
 * (`Invalid last "0": expected …`, `Missing parameter machine`), joined by "; ".
 *
 * @example
 * ```ts
 * const Query = { machine: NameParam, from: TimeParam.optional() };
 * app.get("/", (c) => {
 *   const q = parseQuery(c, Query, ["machine"]); // { machine: string; from?: number }
 *   return c.json(q);
 * });
 * ```
 */
export function parseQuery<Q extends Query>(
  c: Context,
  query: Q,
  required: readonly (keyof Q & string)[] = [],
): QueryValues<Q> {
  const values: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const [name, param] of Object.entries(query)) {
    const value = c.req.query(name);
    if (value === undefined || (value === "" && !required.includes(name))) {
      if (!param.isOptional) issues.push(`Missing parameter ${name}`);
      continue;
    }
    const parsed = param.read(value);
    if (parsed instanceof Invalid) {
      issues.push(`Invalid ${name} ${JSON.stringify(value)}: ${parsed.message}`);
    } else values[name] = parsed;
  }
  if (issues.length > 0) throw httpError(400, issues.join("; "));
  return values as QueryValues<Q>;
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
