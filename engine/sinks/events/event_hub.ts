/**
 * Server-Sent Events fan-out for `GET /events`: a {@linkcode Sink} that turns every
 * reading, processed row and anomaly into an SSE message and hands it to each subscribed
 * client's bounded queue, dropping any client that falls too far behind so a slow reader can
 * never slow down or block the pipeline.
 * @module
 */
import type { Sink } from "../sink.ts";
import { formatReading } from "../../formats/reading_format.ts";
import { rowToObject } from "../../formats/row_format.ts";
import type { AnomalyEvent, ProcessedRow, Reading } from "../../core/types.ts";
import { positiveInteger } from "../../core/validate.ts";

/** Options of {@linkcode EventHub}. */
export interface EventHubOptions {
  /**
   * Most messages (events, keep-alives, the opening `retry:`) waiting for one client to read
   * them; the message that does not fit drops that client. A positive integer.
   * @default {1000}
   */
  clientQueue?: number;
  /** Most clients subscribed at once; one more is a {@linkcode TooManyClientsError}.
   * A positive integer. @default {100} */
  maxClients?: number;
  /** Interval between `: keep-alive` comments sent to every client, ms. Positive.
   * @default {15000} */
  keepAliveMs?: number;
}

/** Options of {@linkcode EventHub.subscribe}. */
export interface SubscribeOptions {
  /** Only events of this machine; every machine when absent. @default {undefined} */
  machine?: string;
  /** Aborting it unsubscribes the client and closes its stream (an HTTP request's signal). */
  signal?: AbortSignal;
}

/** Thrown by {@linkcode EventHub.subscribe} when `maxClients` clients are already subscribed. */
export class TooManyClientsError extends Error {
  constructor(readonly maxClients: number) {
    super(`Too many event-stream clients: at most ${maxClients} at once, try again later`);
    this.name = "TooManyClientsError";
  }
}

/** Thrown by {@linkcode EventHub.subscribe} after {@linkcode EventHub.close}. */
export class EventHubClosedError extends Error {
  constructor() {
    super("The event stream is shutting down");
    this.name = "EventHubClosedError";
  }
}

interface Client {
  readonly machine: string | undefined;
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  /** Messages not yet handed to the stream, oldest first; at most `clientQueue`. */
  queue: Uint8Array[];
  /** A read is pending and `queue` is empty: the next message goes straight to the stream. */
  waiting: boolean;
  /** Removes the abort listener, so a long-lived signal does not keep a gone client alive. */
  detach: () => void;
}

const encoder = new TextEncoder();
// Tells EventSource to reconnect 2 s after a drop (the browser default is ~3 s, some use 5).
const RETRY = encoder.encode("retry: 2000\n\n");
// A comment: EventSource ignores it, but it keeps proxies and NATs from closing an idle stream.
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

/** One SSE message; `data` is single-line JSON, so one `data:` line is always enough. */
function message(event: string, data: string): Uint8Array {
  return encoder.encode("event: " + event + "\ndata: " + data + "\n\n");
}

/** The messages as one chunk: one write for the HTTP server instead of one per message. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Fans pipeline output out to Server-Sent-Events clients. Register it as an `OutputSink`
 * listener and serve {@linkcode EventHub.subscribe}'s stream as `text/event-stream`.
 *
 * Each client's stream starts with `retry: 2000`, then carries `event: reading` (the
 * `stream_output.jsonl` line of the reading), `event: row` (`rowToObject(row)`, as `/data`
 * serves it) and `event: anomaly` (the contract's anomaly event), each as
 * `event: <name>\ndata: <JSON>\n\n`, and a `: keep-alive` comment every `keepAliveMs`.
 *
 * Backpressure: each client has its own bounded array of pending messages (at most
 * `clientQueue`), drained by the stream's `pull()` — all pending messages as one chunk — into a
 * `ReadableStream` of `highWaterMark: 0`, so nothing waits in the stream's own queue. A message
 * arriving while a read is already pending is handed straight over. A client whose array is full
 * is **dropped**: removed, counted in {@linkcode EventHub.dropped}, its unread backlog discarded
 * and its stream **closed** (not errored); EventSource then reconnects after the `retry:` delay.
 * The own array, rather than the stream's queue and `desiredSize`, is what makes that possible:
 * a stream's queue can be emptied from the producer side only by erroring the stream, and
 * `Deno.serve` prints every errored response body's stack trace to stderr — one per dropped
 * client — whereas closing would keep the backlog until a client that is not keeping up got
 * through it. The listener methods only ever push to arrays — O(clients) per message,
 * synchronous, never throwing — so the pipeline is never slowed by a client.
 */
export class EventHub implements Sink {
  readonly #clientQueue: number;
  readonly #maxClients: number;
  readonly #keepAliveMs: number;
  readonly #clients = new Set<Client>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #dropped = 0;
  #sent = 0;

  /** @throws {RangeError} for an option that is not a positive (integer) number. */
  constructor(options: EventHubOptions = {}) {
    this.#clientQueue = positiveInteger("clientQueue", options.clientQueue ?? 1000);
    this.#maxClients = positiveInteger("maxClients", options.maxClients ?? 100);
    const keepAliveMs = options.keepAliveMs ?? 15_000;
    if (!(keepAliveMs > 0) || !Number.isFinite(keepAliveMs)) {
      throw new RangeError(`keepAliveMs must be a positive number, got ${keepAliveMs}`);
    }
    this.#keepAliveMs = keepAliveMs;
  }

  /** Clients subscribed now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Clients dropped so far for being too slow (a full queue). */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Event messages (reading, row, anomaly) queued for clients so far, one per client that got
   * it; the opening `retry:` and keep-alives are not counted.
   */
  get sent(): number {
    return this.#sent;
  }

  /**
   * A new client's SSE byte stream, events filtered to `machine` when given. The stream closes
   * on {@linkcode EventHub.close} (after what was queued), when `signal` aborts or when the
   * client is dropped as too slow (what was queued is discarded); cancelling it unsubscribes.
   * A signal that is already aborted gives an empty, closed stream and subscribes nothing.
   * @throws {TooManyClientsError} when `maxClients` clients are subscribed.
   * @throws {EventHubClosedError} after {@linkcode EventHub.close}.
   */
  subscribe(options: SubscribeOptions = {}): ReadableStream<Uint8Array> {
    if (this.#closed) throw new EventHubClosedError();
    if (this.#clients.size >= this.#maxClients) throw new TooManyClientsError(this.#maxClients);
    const { machine, signal } = options;
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>({
      // start() runs synchronously inside the constructor, so `client` is set right after.
      start: (controller) => {
        client = { machine, controller, queue: [RETRY], waiting: false, detach: () => {} };
      },
      // Called only when a reader asks for data (highWaterMark 0) and at most once per read.
      pull: (controller) => {
        const c = client!;
        if (c.queue.length === 0) {
          c.waiting = true;
          return;
        }
        const chunk = concat(c.queue);
        c.queue = [];
        controller.enqueue(chunk);
      },
      cancel: () => {
        if (client) {
          this.#remove(client);
          client.queue = [];
        }
      },
    }, new CountQueuingStrategy({ highWaterMark: 0 }));
    const c = client!;
    if (signal?.aborted) {
      this.#end(c, false);
      return stream;
    }
    if (signal) {
      const onAbort = () => {
        if (!this.#clients.has(c)) return;
        this.#remove(c);
        this.#end(c, false); // nobody is there to read the backlog
      };
      signal.addEventListener("abort", onAbort, { once: true });
      c.detach = () => signal.removeEventListener("abort", onAbort);
    }
    this.#clients.add(c);
    this.#startKeepAlive();
    return stream;
  }

  /** Queues one `event: reading` per reading for the clients it matches. Never throws. */
  readings(readings: readonly Reading[]): void {
    if (this.#clients.size === 0) return;
    for (const r of readings) this.#publish("reading", r.machine, () => formatReading(r));
  }

  /** Queues `event: row` (`rowToObject(row)`) for the clients it matches. Never throws. */
  row(row: ProcessedRow): void {
    this.#publish("row", row.machine, () => JSON.stringify(rowToObject(row)));
  }

  /** Queues `event: anomaly` for the clients it matches. Never throws. */
  anomaly(event: AnomalyEvent): void {
    this.#publish("anomaly", event.machine, () => JSON.stringify(event));
  }

  /**
   * Ends every client's stream (closed after what is already queued for it),
   * unsubscribes them all and stops the keep-alive timer. Later `subscribe` calls throw
   * {@linkcode EventHubClosedError}; listener calls become no-ops. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#clients]) {
      this.#remove(c);
      this.#end(c, true);
    }
    this.#stopKeepAlive();
  }

  #publish(event: string, machine: string, json: () => string): void {
    // The JSON and its bytes are built once per event, lazily (not at all when no client wants
    // it), and the same bytes go to every client: queued messages are copied into a new chunk,
    // and one handed straight over is passed by reference to a reader that never writes to it.
    let bytes: Uint8Array | undefined;
    for (const c of this.#clients) {
      if (c.machine !== undefined && c.machine !== machine) continue;
      try {
        bytes ??= message(event, json());
      } catch {
        return; // unserialisable (never expected): skip the event rather than throw at the pipeline
      }
      if (this.#send(c, bytes)) this.#sent++;
    }
  }

  /** Queues `bytes` for `c`, or drops `c` when its queue is full. True when queued. */
  #send(c: Client, bytes: Uint8Array): boolean {
    if (c.waiting) {
      c.waiting = false;
      try {
        c.controller.enqueue(bytes);
        return true;
      } catch {
        // The stream was closed under us (not expected: those paths remove the client first);
        // forget the client rather than throw at the pipeline.
        this.#remove(c);
        return false;
      }
    }
    if (c.queue.length >= this.#clientQueue) {
      this.#remove(c);
      this.#dropped++;
      this.#end(c, false);
      return false;
    }
    c.queue.push(bytes);
    return true;
  }

  #remove(c: Client): void {
    if (!this.#clients.delete(c)) return;
    c.detach();
    if (this.#clients.size === 0) this.#stopKeepAlive();
  }

  /** Closes `c`'s stream, after its pending messages when `flush`, else discarding them. */
  #end(c: Client, flush: boolean): void {
    const pending = c.queue;
    c.queue = [];
    try {
      if (flush && pending.length > 0) c.controller.enqueue(concat(pending));
      c.controller.close();
    } catch {
      // already closed or cancelled
    }
  }

  // One timer for the whole hub, running only while someone is subscribed: an idle hub holds
  // no timer, so tests and shutdown have nothing to clear.
  #startKeepAlive(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => {
      for (const c of this.#clients) this.#send(c, KEEP_ALIVE);
    }, this.#keepAliveMs);
    // A forgotten hub must not keep the process alive on its own.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopKeepAlive(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
