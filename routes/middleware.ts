/**
 * The API's middleware, as factories so each app gets its own configured instance: request
 * logging, the bearer token on write endpoints, the body size limit, the JSON content type.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "../engine/mod.ts";
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
