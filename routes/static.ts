/**
 * `GET /` (the live dashboard) and `GET /assets/NAME`: the page, its scripts and styles, and
 * uPlot from npm, all embedded in the module graph by raw imports, so the engine (and the
 * `deno compile` binary) serves them without reading files or reaching a CDN.
 * @module
 */
import { Hono } from "hono";
import { etag } from "hono/etag";
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import alarmsJs from "../web/alarms.js" with { type: "text" };
import appJs from "../web/app.js" with { type: "text" };
import indexHtml from "../web/index.html" with { type: "text" };
import ringJs from "../web/ring_buffer.js" with { type: "text" };
import styleCss from "../web/style.css" with { type: "text" };
import transitionsJs from "../web/transitions.js" with { type: "text" };
import zModelJs from "../web/z_model.js" with { type: "text" };
import type { ErrorBody } from "./common.ts";

/** One servable file. */
interface Asset {
  readonly body: string;
  readonly type: string;
  /** Whether the name is versioned, so browsers may keep it for a year without asking. */
  readonly immutable: boolean;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/**
 * Every asset by the name under `/assets/`. A fixed table rather than a directory lookup: a
 * name that is not a key (`..`, `%2e%2e/main.ts`, anything) is a 404, so no request can reach
 * another file. uPlot's names carry its version, so a new version is a new URL.
 */
const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["app.js", { body: appJs, type: JS, immutable: false }],
  ["alarms.js", { body: alarmsJs, type: JS, immutable: false }],
  ["ring_buffer.js", { body: ringJs, type: JS, immutable: false }],
  ["z_model.js", { body: zModelJs, type: JS, immutable: false }],
  ["transitions.js", { body: transitionsJs, type: JS, immutable: false }],
  ["style.css", { body: styleCss, type: CSS, immutable: false }],
  ["uplot-1.6.32.iife.min.js", { body: uplotJs, type: JS, immutable: true }],
  ["uplot-1.6.32.min.css", { body: uplotCss, type: CSS, immutable: true }],
]);

/**
 * Same origin only: the page needs no other host (no CDN), so nothing else may be loaded or
 * contacted even if some text shown on the page were ever interpreted as markup.
 */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
  "frame-ancestors 'none'; form-action 'none'";

/** The asset names served under `/assets/`, for tests and documentation. */
export const ASSET_NAMES: readonly string[] = [...ASSETS.keys()];

/**
 * The static sub-app, to mount at `/`: `GET /` is the dashboard, `GET /assets/NAME` its files
 * with their content type. Unversioned files are `no-cache` (the browser revalidates with the
 * ETag and gets a 304 while they are unchanged, so an upgraded engine is seen at once);
 * versioned ones (uPlot) are cached for a year. An unknown asset is a JSON 404.
 */
export function staticRoutes(): Hono {
  const app = new Hono();
  app.use("/", etag());
  app.use("/assets/*", etag());
  app.get("/", (c) => {
    c.header("cache-control", "no-cache");
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    return c.body(indexHtml, 200, { "content-type": "text/html; charset=utf-8" });
  });
  app.get("/assets/:name", (c) => {
    const name = c.req.param("name");
    const asset = ASSETS.get(name);
    if (!asset) {
      return c.json<ErrorBody>(
        { success: false, error: `Unknown asset ${JSON.stringify(name)}` },
        404,
      );
    }
    c.header(
      "cache-control",
      asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    );
    c.header("x-content-type-options", "nosniff");
    return c.body(asset.body, 200, { "content-type": asset.type });
  });
  return app;
}
