/**
 * The dashboard's files in-process (`app.request()`): content types, cache headers, ETags,
 * unknown assets, attempts to climb out with `../`, and the page's browser modules that can run
 * in Deno (the status table, the ring buffer, the z-score model against the engine's kernel).
 */
import assert from "node:assert/strict";
import { ASSET_NAMES, createApp, staticRoutes } from "../../routes/mod.ts";
import { RingBuffer } from "../../web/ring_buffer.js";
import { STATUSES, TRANSITIONS as PAGE_TRANSITIONS } from "../../web/transitions.js";
import { ZModel } from "../../web/z_model.js";
import { EngineState, FLAG, ReferenceKernel, TRANSITIONS } from "../../engine/mod.ts";

const app = createApp(new EngineState(), { token: "s3cret" });

Deno.test("GET / serves the dashboard as HTML, without a token even when one is set", async () => {
  const res = await app.request("/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(res.headers.get("cache-control"), "no-cache");
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await res.text();
  assert.match(html, /<title>Vigil/);
  // No CDN: every script and stylesheet is one of ours.
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 4, `too few references: ${refs}`);
  for (const ref of refs) {
    if (ref.startsWith("data:")) continue;
    assert.match(ref, /^\/assets\/[\w.-]+$/, `not a local asset: ${ref}`);
    const asset = await app.request(ref);
    assert.equal(asset.status, 200, ref);
    await asset.body?.cancel();
  }
});

Deno.test("every asset has its content type and cache policy; modules import only assets", async () => {
  for (const name of ASSET_NAMES) {
    const res = await app.request(`/assets/${name}`);
    assert.equal(res.status, 200, name);
    const type = res.headers.get("content-type");
    if (name.endsWith(".js")) assert.equal(type, "text/javascript; charset=utf-8", name);
    else if (name.endsWith(".css")) assert.equal(type, "text/css; charset=utf-8", name);
    else assert.fail(`unexpected asset ${name}`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    // Versioned names (uPlot's) may be kept; ours must be revalidated after an upgrade.
    assert.equal(
      res.headers.get("cache-control"),
      name.startsWith("uplot-") ? "public, max-age=31536000, immutable" : "no-cache",
      name,
    );
    const text = await res.text();
    assert.ok(text.length > 100, `${name} is nearly empty`);
    for (const [, dep] of text.matchAll(/^import .* from "\.\/([^"]+)";$/gm)) {
      assert.ok(ASSET_NAMES.includes(dep!), `${name} imports ${dep}, which is not served`);
    }
  }
  const uplot = await (await app.request("/assets/uplot-1.6.32.iife.min.js")).text();
  assert.match(uplot, /var uPlot=/);
});

Deno.test("an unchanged file is a 304 for the ETag the browser holds", async () => {
  const first = await app.request("/assets/app.js");
  const tag = first.headers.get("etag");
  assert.ok(tag, "no ETag");
  await first.body?.cancel();
  const again = await app.request("/assets/app.js", { headers: { "if-none-match": tag } });
  assert.equal(again.status, 304);
  const other = await app.request("/assets/app.js", { headers: { "if-none-match": '"stale"' } });
  assert.equal(other.status, 200);
  await other.body?.cancel();
});

Deno.test("an unknown asset is a JSON 404 naming it", async () => {
  const res = await app.request("/assets/nope.js");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { success: false, error: 'Unknown asset "nope.js"' });
  const alone = await staticRoutes().request("/assets/app.jsx");
  assert.equal(alone.status, 404);
  assert.deepEqual(await alone.json(), { success: false, error: 'Unknown asset "app.jsx"' });
});

Deno.test("no path climbs out of the assets: ../ in any spelling is a 404", async () => {
  const attempts = [
    "/assets/../deno.json",
    "/assets/..%2fdeno.json",
    "/assets/%2e%2e/deno.json",
    "/assets/%2e%2e%2fdeno.json",
    "/assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/assets/..%5cdeno.json",
    "/assets/....//deno.json",
    "/assets/web/app.js",
    "/assets/../web/app.js",
    "/assets/%2e%2e/routes/static.ts",
    "/..%2fdeno.json",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/assets/",
    "/assets/app.js/",
    "/assets/app.js%00.css",
    "/index.html",
  ];
  for (const path of attempts) {
    const res = await app.request(path);
    assert.equal(res.status, 404, path);
    const body = await res.json();
    assert.equal(body.success, false, path);
    assert.equal(typeof body.error, "string", path);
  }
  // Over a real socket too, where the client does not normalise `..` away.
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    for (const path of ["/assets/../deno.json", "/assets/%2e%2e/deno.json", "/../deno.json"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(
        new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assert.match(raw, /^HTTP\/1\.1 (404|400)/, `${path}: ${raw.slice(0, 80)}`);
      assert.doesNotMatch(raw, /"tasks"/, `${path} leaked deno.json`);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("the page's status buttons follow the engine's transition table", () => {
  assert.deepEqual(PAGE_TRANSITIONS, TRANSITIONS);
  assert.deepEqual([...STATUSES].sort(), Object.keys(TRANSITIONS).sort());
});

Deno.test("the page's ring buffer keeps the newest rows, oldest first", () => {
  const r = new RingBuffer(3, 2);
  for (let i = 0; i < 5; i++) r.push([i, i * 10]);
  assert.equal(r.length, 3);
  assert.deepEqual(r.toArrays(), [[2, 3, 4], [20, 30, 40]]);
  assert.deepEqual(r.toArrays(3), [[3, 4], [30, 40]]);
  r.set(1, 0, NaN);
  assert.deepEqual(r.toArrays(), [[2, 3, 4], [null, 30, 40]]);
  assert.equal(r.findAtOrBefore(3.5), 1);
  assert.equal(r.findAtOrBefore(1), -1);
  assert.throws(() => new RingBuffer(0, 1), /capacity must be a positive integer, got 0/);
});

Deno.test("the page's z-score model flags what the engine's kernel flags", () => {
  const modelSize = 20, z = 2.5;
  const kernel = new ReferenceKernel({ maxStreams: 1, modelSize, zThreshold: z, window: 5 });
  kernel.setLimits(0, { low: NaN, high: NaN, maxDelta: NaN, maxDeviationPct: NaN });
  const model = new ZModel(modelSize);
  // A noisy signal with spikes, a stuck stretch and a level shift: every rule of the model.
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const values: number[] = [];
  for (let i = 0; i < 400; i++) {
    let v = 1500 + 20 * (rand() - 0.5);
    if (i % 37 === 0) v += 300;
    if (i >= 200 && i < 230) v = 1498.5;
    if (i >= 300) v += 40;
    values.push(v);
  }
  const n = values.length;
  const out = kernel.process({
    stream: new Int32Array(n),
    time: Float64Array.from(values, (_, i) => i * 1000),
    value: Float64Array.from(values),
  }, n);
  let flagged = 0;
  for (let i = 0; i < n; i++) {
    const page = model.update(values[i]!, z);
    const engineAnomaly = (out.flags[i]! & FLAG.ZSCORE) !== 0;
    assert.equal(page.anomaly, engineAnomaly, `reading ${i}`);
    assert.ok(Math.abs(page.z - out.zscore[i]!) < 1e-6, `z of reading ${i}`);
    if (engineAnomaly) flagged++;
  }
  assert.ok(flagged > 5, `only ${flagged} anomalies: the comparison would prove little`);
});
