/**
 * The API's middleware, as factories so each app gets its own configured instance: request
 * logging, the Host and Origin checks against DNS rebinding and cross-site writes, the bearer
 * token on write endpoints, the body size limit, the JSON content type.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../engine/live_mod.ts";
import { httpError } from "./common.ts";

/** Methods that change state, and so need the token when one is set. */
const WRITE_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Logs one entry per request: method, path, status and duration in ms. */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    // Hono's compose catches handler errors and sets the onError response before returning
    // here, so `c.res.status` below is the status really sent, errors included.
    await next();
    logger.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 100) / 100,
    });
  };
}

/**
 * Requires `Authorization: Bearer <token>` on write methods (POST, PUT, PATCH, DELETE); reads
 * are never gated. A missing or wrong token is a 401 with `WWW-Authenticate: Bearer`.
 * @throws {RangeError} for an empty token, which would otherwise accept `Bearer ` alone.
 */
export function requireToken(token: string): MiddlewareHandler {
  if (token === "") throw new RangeError("API token must not be empty");
  const expected = sha256(token);
  return async (c, next) => {
    if (!WRITE_METHODS.has(c.req.method)) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^bearer\s+(.+)$/i.exec(header.trim());
    const given = match?.[1];
    if (given === undefined || !equalBytes(await sha256(given), await expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="vigil"');
      throw httpError(
        401,
        given === undefined
          ? "Missing bearer token: write endpoints need 'Authorization: Bearer <token>'"
          : "Invalid bearer token",
      );
    }
    return next();
  };
}

/** Where the API is served, for {@linkcode checkOrigin}. */
export interface ServedAt {
  /** The address listened on (`--host`): a name or an IP, IPv6 with or without brackets. */
  host: string;
  /** The port listened on, or a function giving it: with `--port 0` it is known only once
   * the server listens. */
  port: number | (() => number);
  /**
   * Further names the server may be reached by (`name`, matched with the served port, or
   * `name:port`, matched as is, e.g. behind a reverse proxy). When given, it also makes a
   * wildcard `host` (`0.0.0.0`, `::`) check Host. @default {[]}
   */
  allowedHosts?: readonly string[];
}

/** Addresses that listen on every interface: any name may reach them. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(["0.0.0.0", "::", "[::]"]);

/** Whether `host` (a `--host` value) is a loopback address, reachable only from this machine. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `host` as it appears in a Host header: IPv6 in brackets, lower case. */
function bracketed(host: string): string {
  const h = host.toLowerCase();
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

/**
 * Guards the API against DNS rebinding and cross-site writes, both of which let a page in the
 * user's browser drive a server it should not reach:
 * - a request whose `Host` header is not a name the server is served under is a 421: a rebound
 *   name (`evil.example.com` resolving to 127.0.0.1) reaches the socket but not this check.
 *   The names are the `--host` value, plus `localhost`, `127.0.0.1` and `[::1]` on loopback,
 *   each with the served port (port 80 also bare), plus `allowedHosts`. On a wildcard address
 *   (`0.0.0.0`, `::`) the server cannot know the names clients use (LAN address, DNS names),
 *   so any Host is accepted unless `allowedHosts` is given; such a deployment is reachable by
 *   others anyway and should set a token.
 * - a write (POST, PUT, PATCH, DELETE) whose `Origin` header is present and not the request's
 *   own origin (its host differs from `Host`, or it is `null`) is a 403. Browsers send Origin
 *   on every cross-origin request and on same-origin writes; curl sends none, and is let through.
 *
 * @example
 * ```ts
 * app.use(checkOrigin({ host: "127.0.0.1", port: 8000 }));
 * // Host: evil.example.com → 421; Host: localhost:8000 → passes
 * ```
 */
export function checkOrigin(served: ServedAt): MiddlewareHandler {
  const allowed = served.allowedHosts ?? [];
  const anyHost = WILDCARD_HOSTS.has(served.host) && allowed.length === 0;
  const names = [
    ...new Set([
      bracketed(served.host),
      ...(isLoopback(served.host) ? ["localhost", "127.0.0.1", "[::1]"] : []),
    ]),
  ];
  const { port: given } = served;
  const portOf = typeof given === "number" ? () => given : given;
  const hostAllowed = (host: string): boolean => {
    const port = portOf();
    const candidates = new Set<string>();
    for (const name of [...names, ...allowed.map((a) => a.toLowerCase())]) {
      // An entry with its own port (`name:port`, `[v6]:port`) is matched as is.
      if (/^(\[[^\]]+\]|[^:]+):\d+$/.test(name)) {
        candidates.add(name);
        continue;
      }
      candidates.add(`${bracketed(name)}:${port}`);
      if (port === 80) candidates.add(bracketed(name));
    }
    return candidates.has(host);
  };
  return async (c, next) => {
    // Deno builds the request URL from the Host header; fall back to it when the header is
    // absent (HTTP/1.0, `app.request()` in tests).
    const host = (c.req.header("host") ?? new URL(c.req.url).host).toLowerCase();
    if (!anyHost && !hostAllowed(host)) {
      throw httpError(
        421,
        `Host ${JSON.stringify(host)} is not a name this server is served under ` +
          `(DNS rebinding guard): use one of ${
            [...names.map((n) => `${n}:${portOf()}`), ...allowed].join(", ")
          }`,
      );
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && WRITE_METHODS.has(c.req.method)) {
      let originHost: string | null = null;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        // `null` (sandboxed frames, some redirects) and garbage: not same-origin.
      }
      if (originHost !== host) {
        throw httpError(
          403,
          `Cross-origin write refused: Origin ${JSON.stringify(origin)} is not this server's ` +
            `origin (${host})`,
        );
      }
    }
    await next();
  };
}

/** Refuses bodies over `maxBytes` with a 413, before any handler reads them. */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw httpError(413, `Request body too large: the limit is ${maxBytes} bytes`);
    },
  });
}

/**
 * Refuses a query string (after `?`) over `maxBytes` with a JSON 414, before any handler parses
 * it: no parameter of the API is long, so such a query is a mistake or an attack, and parsing
 * it would only cost.
 *
 * @example
 * ```ts
 * app.use(limitQuery(4096));
 * ```
 */
export function limitQuery(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    const q = url.indexOf("?");
    // UTF-16 length of the URL's text: the URL parser has percent-encoded it, so it is ASCII
    // and its length is its byte count.
    const length = q === -1 ? 0 : url.length - q - 1;
    if (length > maxBytes) {
      throw httpError(
        414,
        `Query string too long: ${length} bytes, the limit is ${maxBytes}`,
      );
    }
    await next();
  };
}

/** Requires `Content-Type: application/json` (parameters such as `charset` allowed), else 415. */
export function jsonBody(): MiddlewareHandler {
  return async (c, next) => {
    const type = c.req.header("content-type");
    const media = type?.split(";")[0]?.trim().toLowerCase();
    if (media !== "application/json") {
      throw httpError(
        415,
        type === undefined
          ? "Missing Content-Type: expected application/json"
          : `Unsupported Content-Type ${JSON.stringify(type)}: expected application/json`,
      );
    }
    await next();
  };
}

/**
 * Hashing both sides first makes the comparison take the same time whatever the tokens' lengths
 * and contents, so timing reveals nothing of the expected token.
 */
async function sha256(text: string): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return new Uint8Array(digest);
}

/** Constant-time equality of two same-length digests: no early exit on the first difference. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
