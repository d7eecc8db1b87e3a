/**
 * What every spooled sink that POSTs over HTTP shares: the check that its host is allowed
 * before the first attempt, and how an HTTP answer becomes a {@linkcode SendResult}. Here so
 * that webhooks and InfluxDB classify answers alike (and a fix reaches both).
 * @module
 */
import { retryAfterMs } from "./backoff.ts";
import type { SendResult } from "./delivery.ts";

/**
 * Throws unless `--allow-net` allows `url`'s host. Asked at open rather than found at the first
 * POST: without it every delivery would fail and be retried forever while the items pile up.
 * @throws {Deno.errors.NotCapable} naming `what` (e.g. `webhook URL "http://h/x"`) and the flag.
 *
 * @example
 * ```ts
 * await requireNet(new URL("http://127.0.0.1:8086/write"), 'InfluxDB URL "http://127.0.0.1:8086/write"');
 * ```
 */
export async function requireNet(url: URL, what: string): Promise<void> {
  const net = await Deno.permissions.query({ name: "net", host: url.host });
  if (net.state !== "granted") {
    throw new Deno.errors.NotCapable(`${what} needs --allow-net=${url.host}`);
  }
}

/**
 * Classifies an HTTP answer: 2xx delivered; 408, 429, 5xx (and anything below 200) retried,
 * honouring `Retry-After`; any other status refused for good, with the start of the body (500
 * characters) for the log. Reads (or cancels) the body.
 *
 * @example
 * ```ts
 * await sendResultOf(new Response(null, { status: 204 })); // { kind: "ok" }
 * await sendResultOf(new Response("busy", { status: 503 })); // { kind: "retry", reason: "HTTP 503", … }
 * await sendResultOf(new Response("bad", { status: 400 })); // { kind: "reject", status: 400, body: "bad" }
 * ```
 */
export async function sendResultOf(res: Response): Promise<SendResult> {
  let body = "";
  try {
    body = (await res.text()).slice(0, 500);
  } catch {
    // The body is only for the log; the status decides.
  }
  const status = res.status;
  if (status >= 200 && status < 300) return { kind: "ok" };
  if (status === 408 || status === 429 || status >= 500 || status < 200) {
    return {
      kind: "retry",
      reason: `HTTP ${status}`,
      afterMs: retryAfterMs(res.headers.get("retry-after")),
    };
  }
  return { kind: "reject", status, body };
}
