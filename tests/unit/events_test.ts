/**
 * The Server-Sent Events hub and `GET /events`: the exact wire format, machine filtering,
 * keep-alives, shutdown, a slow client being dropped without slowing the pipeline, and the route
 * over a real socket. Deno's sanitizers stay on (leaked ops and resources: streams, sockets), and
 * since they do not notice a leaked `setInterval` (checked on Deno 2.9.6), live intervals are
 * counted explicitly with {@linkcode trackIntervals}.
 *
 * Past ~400 lines: the whole suite of one component (events), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { eventsRoutes } from "../../routes/events.ts";
import {
  type AnomalyEvent,
  EventHub,
  EventHubClosedError,
  formatReading,
  type ProcessedRow,
  type Reading,
  rowToObject,
  TooManyClientsError,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

const reading = (machine: string, i: number): Reading => ({
  timestamp: T0 + i * 2000,
  machine,
  status: "RUNNING",
  channels: { temperature: 20 + i / 100, seq: i },
});

const row = (machine: string, i: number): ProcessedRow => ({
  timestamp: iso(T0 + i * 2000),
  machine,
  channels: { temperature: { current: 21.5, moving_avg: 21, trend: "increasing", zscore: 1.25 } },
  status_current: "RUNNING",
  status_mode: "RUNNING",
  status_changes: 0,
  health_score: 0.95,
  alerts: ["TEMP_RISING", 'a "quoted"\nline'],
});

const anomaly = (machine: string, i: number): AnomalyEvent => ({
  timestamp: iso(T0 + i * 2000),
  machine,
  type: "THRESHOLD_BREACH_TEMP",
  severity: "CRITICAL",
  channel: "temperature",
  value: 95.5,
  threshold: 80,
  description: "Temperature 95.50°C exceeded threshold of 80.0°C.",
});

const wire = (event: string, data: string) => `event: ${event}\ndata: ${data}\n\n`;

/** Reads a stream to its end, as text. */
async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** One parsed SSE block: its fields (`event`, `data`, `retry`) or its comment. */
type Block = Record<string, string>;

function parseBlock(block: string): Block {
  const out: Block = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) out.comment = line.slice(1).trim();
    else {
      const at = line.indexOf(": ");
      assert.ok(at > 0, `not a field line: ${JSON.stringify(line)}`);
      const key = line.slice(0, at);
      assert.ok(!(key in out), `field ${key} repeated in ${JSON.stringify(block)}`);
      out[key] = line.slice(at + 2);
    }
  }
  return out;
}

/** Pulls whole SSE blocks off a byte stream, one at a time. */
class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** The next block, or `null` at the end of the stream. */
  async next(): Promise<Block | null> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseBlock(block);
      }
      const { value, done } = await this.#reader.read();
      if (done) {
        assert.equal(this.#buffer, "", "stream ended inside a block");
        return null;
      }
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Gives up on the stream, whatever state it is in. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/**
 * Counts the intervals started and not cleared while in scope, by wrapping the globals the hub
 * calls (it looks them up at call time). Restored at the end of the `using` scope.
 */
function trackIntervals(): { readonly live: number } & Disposable {
  const live = new Set<unknown>();
  const set = globalThis.setInterval, clear = globalThis.clearInterval;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const id = set(...args);
    live.add(id);
    return id;
  }) as typeof setInterval;
  globalThis.clearInterval = ((id?: Parameters<typeof clearInterval>[0]) => {
    live.delete(id);
    clear(id);
  }) as typeof clearInterval;
  return {
    get live() {
      return live.size;
    },
    [Symbol.dispose]() {
      globalThis.setInterval = set;
      globalThis.clearInterval = clear;
      for (const id of live) clear(id as Parameters<typeof clearInterval>[0]);
    },
  };
}

async function waitFor(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("events: exact wire format, in order, filtered by machine", async () => {
  const hub = new EventHub();
  const all = hub.subscribe();
  const m1 = hub.subscribe({ machine: "m1" });
  assert.equal(hub.clients, 2);

  const r0 = reading("m1", 0), r1 = reading("m2", 1), r4 = reading("m1", 4);
  hub.readings([r0, r1]);
  hub.row(row("m2", 2));
  hub.anomaly(anomaly("m1", 3));
  hub.readings([r4]);
  hub.row(row("m1", 5));
  hub.close();
  assert.equal(hub.clients, 0);

  const rowJson = (m: string, i: number) => JSON.stringify(rowToObject(row(m, i)));
  assert.equal(
    await collect(all),
    "retry: 2000\n\n" +
      wire("reading", formatReading(r0)) +
      wire("reading", formatReading(r1)) +
      wire("row", rowJson("m2", 2)) +
      wire("anomaly", JSON.stringify(anomaly("m1", 3))) +
      wire("reading", formatReading(r4)) +
      wire("row", rowJson("m1", 5)),
  );
  assert.equal(
    await collect(m1),
    "retry: 2000\n\n" +
      wire("reading", formatReading(r0)) +
      wire("anomaly", JSON.stringify(anomaly("m1", 3))) +
      wire("reading", formatReading(r4)) +
      wire("row", rowJson("m1", 5)),
  );
  assert.equal(hub.sent, 6 + 4);
  assert.equal(hub.dropped, 0);
});

Deno.test("events: a row whose alerts hold a newline still travels as one data line", async () => {
  const hub = new EventHub();
  const s = new SseReader(hub.subscribe());
  hub.row(row("m1", 0));
  hub.close();
  assert.deepEqual(await s.next(), { retry: "2000" });
  const block = await s.next();
  assert.equal(block?.event, "row");
  assert.deepEqual(JSON.parse(block.data!), rowToObject(row("m1", 0)));
  assert.equal(await s.next(), null);
});

Deno.test("events: keep-alive comments arrive every keepAliveMs, close() stops them", async () => {
  using timers = trackIntervals();
  const hub = new EventHub({ keepAliveMs: 20 });
  assert.equal(timers.live, 0, "an idle hub holds no timer");
  const s = hub.subscribe();
  hub.subscribe({ machine: "m1" }); // one timer for the hub, not one per client
  assert.equal(timers.live, 1);
  await new Promise((r) => setTimeout(r, 110));
  hub.close();
  assert.equal(timers.live, 0);
  const text = await collect(s);
  assert.ok(text.startsWith("retry: 2000\n\n"), text);
  const alive = text.split(": keep-alive\n\n").length - 1;
  assert.ok(alive >= 2 && alive <= 7, `expected a keep-alive every 20 ms, got ${alive}: ${text}`);
  assert.equal(text, "retry: 2000\n\n" + ": keep-alive\n\n".repeat(alive));
  // Keep-alives are not events.
  assert.equal(hub.sent, 0);
});

Deno.test("events: the last client leaving stops the keep-alive timer (no close())", async () => {
  using timers = trackIntervals();
  const hub = new EventHub({ keepAliveMs: 10 });
  const a = hub.subscribe();
  const b = hub.subscribe({ machine: "m1" });
  assert.equal(timers.live, 1);
  await a.cancel();
  assert.equal(hub.clients, 1);
  assert.equal(timers.live, 1);
  await b.cancel();
  assert.equal(hub.clients, 0);
  assert.equal(timers.live, 0);
  const c = hub.subscribe(); // and it starts again for the next client
  assert.equal(timers.live, 1);
  await c.cancel();
  assert.equal(timers.live, 0);
  hub.readings([reading("m1", 0)]); // nobody left: a no-op
  assert.equal(hub.sent, 0);
});

Deno.test("events: close() ends pending reads, refuses new clients, listener calls stay safe", async () => {
  const hub = new EventHub();
  const reader = hub.subscribe().getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "retry: 2000\n\n");
  const pending = reader.read();
  hub.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.throws(() => hub.subscribe(), EventHubClosedError);
  hub.readings([reading("m1", 0)]);
  hub.row(row("m1", 1));
  hub.anomaly(anomaly("m1", 2));
  hub.close(); // idempotent
  assert.equal(hub.sent, 0);
});

Deno.test("events: more than maxClients is a TooManyClientsError; a leaving client frees a slot", async () => {
  const hub = new EventHub({ maxClients: 2 });
  const a = hub.subscribe();
  const b = hub.subscribe();
  assert.throws(() => hub.subscribe(), (e) => {
    assert.ok(e instanceof TooManyClientsError);
    assert.equal(e.maxClients, 2);
    return true;
  });
  await a.cancel();
  const c = hub.subscribe();
  assert.equal(hub.clients, 2);
  hub.close();
  await Promise.all([collect(b), collect(c)]);
});

Deno.test("events: an aborted signal unsubscribes and closes the stream", async () => {
  using timers = trackIntervals();
  const hub = new EventHub();
  const ac = new AbortController();
  const s = hub.subscribe({ signal: ac.signal });
  const other = hub.subscribe();
  hub.readings([reading("m1", 0)]);
  ac.abort();
  assert.equal(hub.clients, 1);
  hub.readings([reading("m1", 1)]);
  // The client is gone: what was queued for it is discarded and the stream ends.
  assert.equal(await collect(s), "");

  // Already aborted: an empty closed stream, nothing subscribed.
  const late = hub.subscribe({ signal: AbortSignal.abort() });
  assert.equal(hub.clients, 1);
  assert.equal(await collect(late), "");

  // The other client still got both readings.
  hub.close();
  assert.equal(timers.live, 0);
  assert.equal(
    await collect(other),
    "retry: 2000\n\n" + wire("reading", formatReading(reading("m1", 0))) +
      wire("reading", formatReading(reading("m1", 1))),
  );
});

Deno.test("events: options are validated", () => {
  assert.throws(() => new EventHub({ clientQueue: 0 }), RangeError);
  assert.throws(() => new EventHub({ clientQueue: 1.5 }), RangeError);
  assert.throws(() => new EventHub({ maxClients: -1 }), RangeError);
  assert.throws(() => new EventHub({ keepAliveMs: 0 }), RangeError);
  assert.throws(() => new EventHub({ keepAliveMs: Infinity }), RangeError);
  assert.throws(() => new EventHub({ keepAliveMs: NaN }), RangeError);
});

Deno.test("events: a slow client is dropped, a fast one gets everything, pushes never wait", async () => {
  const clientQueue = 1000;
  const hub = new EventHub({ clientQueue });
  const slow = hub.subscribe(); // never read until the end
  const fast = hub.subscribe();

  // The fast client parses every message and checks it is the next reading, in order.
  let received = 0;
  const done = (async () => {
    const s = new SseReader(fast);
    assert.deepEqual(await s.next(), { retry: "2000" });
    for (let block = await s.next(); block !== null; block = await s.next()) {
      assert.equal(block.event, "reading");
      const data = JSON.parse(block.data!);
      assert.equal(data.seq, received, "out of order or missing");
      received++;
    }
  })();

  const total = 100_000, batch = 500;
  const batches: Reading[][] = [];
  for (let b = 0; b < total / batch; b++) {
    batches.push(Array.from({ length: batch }, (_, k) => reading("m1", b * batch + k)));
  }
  for (const readings of batches) {
    // Synchronous: a push returns nothing to wait on, whatever the clients do (the time it
    // takes is a benchmark's business, not a test's: this machine is shared).
    assert.equal(hub.readings(readings) as unknown, undefined);
    // A macrotask boundary, as between two pipeline batches: the fast reader drains its queue.
    await new Promise((r) => setTimeout(r, 0));
  }

  assert.equal(hub.dropped, 1);
  assert.equal(hub.clients, 1);
  // The slow client's stream is closed with its backlog discarded: it ends at once, empty.
  assert.equal(await collect(slow), "");
  // Everything to the fast client, plus what fitted in the slow one's queue (`retry:` took
  // one of its clientQueue places).
  assert.equal(hub.sent, total + clientQueue - 1);

  hub.close();
  await done;
  assert.equal(received, total);
});

Deno.test("events: a client that stops reading is dropped on keep-alives alone", async () => {
  using timers = trackIntervals();
  const hub = new EventHub({ clientQueue: 3, keepAliveMs: 5 });
  const s = hub.subscribe();
  await waitFor("the idle client to be dropped", () => hub.dropped === 1);
  assert.equal(hub.clients, 0);
  assert.equal(timers.live, 0, "the last client dropped stops the timer");
  assert.equal(await collect(s), "");
  hub.close();
});

Deno.test("events over HTTP: readings and rows arrive, ?machine= filters, abort removes the client", async () => {
  using timers = trackIntervals();
  const hub = new EventHub();
  const app = new Hono().route("/events", eventsRoutes(hub));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}/events`;
  const ac1 = new AbortController(), ac2 = new AbortController();
  const readers: SseReader[] = [];
  try {
    const res1 = await fetch(base, { signal: ac1.signal });
    assert.equal(res1.status, 200);
    assert.equal(res1.headers.get("content-type"), "text/event-stream");
    assert.equal(res1.headers.get("cache-control"), "no-cache");
    const all = new SseReader(res1.body!);
    readers.push(all);
    const res2 = await fetch(`${base}?machine=m2`, { signal: ac2.signal });
    assert.equal(res2.status, 200);
    const m2 = new SseReader(res2.body!);
    readers.push(m2);
    assert.deepEqual(await all.next(), { retry: "2000" });
    assert.deepEqual(await m2.next(), { retry: "2000" });
    assert.equal(hub.clients, 2);

    hub.readings([reading("m1", 0), reading("m2", 1)]);
    hub.row(row("m1", 2));
    hub.anomaly(anomaly("m2", 3));

    assert.deepEqual(await all.next(), { event: "reading", data: formatReading(reading("m1", 0)) });
    assert.deepEqual(await all.next(), { event: "reading", data: formatReading(reading("m2", 1)) });
    const r = await all.next();
    assert.equal(r?.event, "row");
    assert.deepEqual(JSON.parse(r.data!), rowToObject(row("m1", 2)));
    assert.deepEqual(await all.next(), {
      event: "anomaly",
      data: JSON.stringify(anomaly("m2", 3)),
    });

    // m1's reading and row never reach the m2 client.
    assert.deepEqual(await m2.next(), { event: "reading", data: formatReading(reading("m2", 1)) });
    assert.deepEqual(JSON.parse((await m2.next())!.data!), anomaly("m2", 3));

    ac1.abort();
    await waitFor("the aborted client to be removed", () => hub.clients === 1);
    ac2.abort();
    await waitFor("both clients to be removed", () => hub.clients === 0);
    assert.equal(timers.live, 0);
    assert.equal(hub.dropped, 0);
  } finally {
    for (const r of readers) await r.cancel();
    hub.close();
    await server.shutdown();
  }
});

Deno.test("GET /events: a full or closed hub is a 503 with the contract's error body", async () => {
  const hub = new EventHub({ maxClients: 1 });
  const app = new Hono().route("/events", eventsRoutes(hub));
  const first = await app.request("/events?machine=");
  assert.equal(first.status, 200);
  const second = await app.request("/events");
  assert.equal(second.status, 503);
  assert.deepEqual(await second.json(), {
    success: false,
    error: new TooManyClientsError(1).message,
  });
  // `?machine=` (empty) means every machine.
  hub.row(row("m7", 0));
  hub.close();
  const text = await collect(first.body!);
  assert.ok(text.includes("event: row\n"), text);

  const closed = await app.request("/events");
  assert.equal(closed.status, 503);
  assert.deepEqual(await closed.json(), {
    success: false,
    error: new EventHubClosedError().message,
  });
});
