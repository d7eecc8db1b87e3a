/**
 * The `--influx URL` forms and the write endpoint each one means. In core (not in the sink's
 * folder) because config.ts checks the URL when the flags are read, so that a bad one exits 2
 * before anything starts, and the sink must read it the same way.
 *
 * - InfluxDB 1.x: `http://HOST:8086/DB` (the last path segment is the database; any segments
 *   before it are a proxy prefix) or `http://HOST:8086/?db=DB` (also `/write?db=DB`); optional
 *   `rp=` (retention policy), `u=` and `p=` (credentials). Writes go to
 *   `POST <prefix>/write?db=DB&precision=ms`.
 * - InfluxDB 2.x and 3.x: a `bucket=` parameter, with `org=` (or `orgID=`) where the server
 *   needs it: `http://HOST:8086/?org=ORG&bucket=B` or `http://HOST:8086/api/v2/write?…`. Writes
 *   go to `POST <prefix>/api/v2/write?org=ORG&bucket=B&precision=ms`.
 *
 * Any other parameter is an error (a typo would otherwise be sent silently); `precision` is
 * always `ms`, set by Vigil.
 * @module
 */

/** Which write API a URL means. */
export type InfluxApi = "v1" | "v2";

/** What {@linkcode parseInfluxUrl} read from a URL. */
export interface InfluxEndpoint {
  api: InfluxApi;
  /** The full write URL, `precision=ms` included (it may carry `u`/`p`: never log it). */
  writeUrl: string;
  /** The write URL without credentials or query, for logs and metrics. */
  target: string;
  /** The database (v1) or bucket (v2). */
  database: string;
}

const V1_PARAMS = new Set(["db", "rp", "u", "p"]);
const V2_PARAMS = new Set(["org", "orgID", "bucket"]);

/**
 * The write endpoint of an `--influx` URL (forms in the module doc).
 * @throws {RangeError} naming the URL (without credentials) and what is wrong with it.
 *
 * @example
 * ```ts
 * parseInfluxUrl("http://127.0.0.1:8086/vigil").writeUrl;
 * // "http://127.0.0.1:8086/write?db=vigil&precision=ms"
 * parseInfluxUrl("http://127.0.0.1:8086/?org=plant&bucket=vigil").writeUrl;
 * // "http://127.0.0.1:8086/api/v2/write?org=plant&bucket=vigil&precision=ms"
 * ```
 */
export function parseInfluxUrl(raw: string): InfluxEndpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Up to the query only: it may carry a password (p=).
    throw new RangeError(`${JSON.stringify(raw.split("?")[0])} is not a URL`);
  }
  const shown = JSON.stringify(`${url.protocol}//${url.host}${url.pathname}`);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`${shown} is not http(s)`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new RangeError(`${shown}: give credentials as u= and p= (1.x) or a token, not user@`);
  }
  const params = url.searchParams;
  const v2 = params.has("bucket");
  const allowed = v2 ? V2_PARAMS : V1_PARAMS;
  for (const name of params.keys()) {
    if (!allowed.has(name)) {
      const form = v2 ? "a 2.x/3.x URL (bucket=) takes org, orgID" : "a 1.x URL takes db, rp, u, p";
      throw new RangeError(`${shown}: unknown parameter ${JSON.stringify(name)} (${form})`);
    }
  }
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const out = new URLSearchParams();
  let path: string;
  let database: string;
  if (v2) {
    if (segments.join("/").endsWith("api/v2/write")) segments.splice(-3);
    path = [...segments, "api", "v2", "write"].join("/");
    database = params.get("bucket")!;
    for (const name of ["org", "orgID", "bucket"]) {
      const v = params.get(name);
      if (v !== null) out.set(name, v);
    }
  } else {
    if (segments.at(-1) === "write") segments.pop();
    const db = params.get("db") ?? (segments.length > 0 ? decodeURIComponent(segments.pop()!) : "");
    if (db === "") {
      throw new RangeError(
        `${shown}: no database; use http://HOST:8086/DB (1.x) or ?org=ORG&bucket=B (2.x/3.x)`,
      );
    }
    database = db;
    path = [...segments, "write"].join("/");
    out.set("db", db);
    for (const name of ["rp", "u", "p"]) {
      const v = params.get(name);
      if (v !== null) out.set(name, v);
    }
  }
  if (database === "") throw new RangeError(`${shown}: the bucket is empty`);
  out.set("precision", "ms");
  const base = `${url.protocol}//${url.host}/${path}`;
  return { api: v2 ? "v2" : "v1", writeUrl: `${base}?${out}`, target: base, database };
}
