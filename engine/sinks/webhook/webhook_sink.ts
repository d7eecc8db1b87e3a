/**
 * Alert webhooks: a {@linkcode Sink} that POSTs every anomaly event, as JSON arrays
 * of up to `batchSize` events, to each configured URL, through a bounded on-disk queue per URL so
 * that an incident tool that is down loses nothing, even across a restart of Vigil.
 *
 * Per URL, in the spool directory (`<data-dir>/webhooks/` in `start`):
 * - `<id>.<generation>.jsonl`: the spool, one event per line, append-only;
 * - `<id>.ack`: `{"url","spool","offset"}`, the byte offset up to which the spool is done with
 *   (delivered, refused or evicted), replaced atomically (temporary file, then rename).
 *
 * `<id>` is the first 16 hex digits of the SHA-256 of the URL. When the acknowledged prefix passes
 * `compactBytes`, the unacknowledged rest is copied to a spool of the next generation, the ack
 * file is switched to it, then the old spool is deleted: a crash at any point leaves the ack file
 * naming a complete spool (an unreferenced one is deleted on the next open).
 *
 * Delivery is at least once and in order per URL: one batch is in flight at a time, and the next
 * is sent only after it was answered. A 2xx acknowledges the batch. A 408, a 429, any 5xx, a
 * network error or a timeout is retried with exponential backoff and jitter (the delay is
 * `retryBaseMs · 2^(attempt-1)`, capped at `retryMaxMs`, then a random value in its upper half;
 * a `Retry-After` is honoured up to `retryMaxMs`); retries never give up, since the queue bound
 * is what limits an outage. Any other 4xx is a permanent refusal (a wrong path, a bad token): the
 * batch is logged with the answer, counted as rejected and skipped, so that a misconfiguration
 * cannot block the queue forever. A crash (or a timeout) after the target got a batch but before
 * the ack file was written sends that batch again.
 *
 * The queue is bounded: at most `maxQueued` events per URL wait (in the spool, mirrored in memory
 * so that sending needs no reads). When an event arrives at a full queue the **oldest** waiting
 * event is dropped, counted in {@linkcode WebhookSink.health} `dropped` (and the
 * `vigil_webhook_dropped_total` metric) and logged as a warning with the count. An event dropped
 * while its batch was already in flight is counted back as delivered if that POST succeeds.
 * @module
 */
import { join } from "node:path";
import { type Logger, nullLogger } from "../../core/logger.ts";
import type { DeliveryStats, Sink } from "../sink.ts";
import type { AnomalyEvent } from "../../core/types.ts";
import { abortableSleep } from "../../core/abortable_sleep.ts";
import { positiveInteger, positiveNumber } from "../../core/validate.ts";

/** Options of {@linkcode WebhookSink.open}. */
export interface WebhookSinkOptions {
  /** The URLs every event goes to (`http:` or `https:`, each once). At least one. */
  urls: readonly string[];
  /** The spool directory, created if missing (`start` uses `<data-dir>/webhooks`). */
  dir: string;
  /** Most events per POST (one JSON array). A positive integer. @default {100} */
  batchSize?: number;
  /** Most events waiting per URL; beyond it the oldest are dropped (counted and logged).
   * A positive integer. @default {10000} */
  maxQueued?: number;
  /** Longest wait for one POST's answer, ms; then it counts as failed and is retried.
   * @default {10000} */
  timeoutMs?: number;
  /** Delay before the first retry, ms; doubled at each further failure. @default {1000} */
  retryBaseMs?: number;
  /** Largest delay between retries, ms (also caps a `Retry-After`). @default {60000} */
  retryMaxMs?: number;
  /** Acknowledged spool bytes that trigger a compaction of the spool. @default {1048576} */
  compactBytes?: number;
  /** How long {@linkcode WebhookSink.close} keeps sending by default, ms. @default {5000} */
  closeDeadlineMs?: number;
  /** Extra request headers (e.g. `Authorization`). @default {{}} */
  headers?: Readonly<Record<string, string>>;
  /** Where deliveries that fail, refusals and drops are logged. @default {nullLogger} */
  logger?: Logger;
  /** The jitter's random source, in [0, 1). @default {Math.random} */
  random?: () => number;
}

/** One event in the spool: its JSON line and the spool offset just after the line. */
interface Entry {
  line: string;
  end: number;
}

type Outcome =
  | { kind: "ok" }
  | { kind: "permanent"; status: number; body: string }
  | { kind: "retry"; reason: string; afterMs?: number };

interface Settings {
  batchSize: number;
  maxQueued: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  compactBytes: number;
  headers: Record<string, string>;
  logger: Logger;
  random: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The URL without credentials, query or fragment: what logs and metrics may show. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

async function idOf(url: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(url)));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The lowest generation of `id`'s spools in `dir`, or `undefined` when there is none. */
async function oldestGeneration(dir: string, id: string): Promise<number | undefined> {
  let oldest: number | undefined;
  for await (const e of Deno.readDir(dir)) {
    const m = /^([0-9a-f]{16})\.(\d+)\.jsonl$/.exec(e.name);
    if (!e.isFile || !m || m[1] !== id) continue;
    const g = Number(m[2]);
    if (oldest === undefined || g < oldest) oldest = g;
  }
  return oldest;
}

/** Seconds or an HTTP date, as ms from now; `undefined` when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const s = Number(header);
  if (header.trim() !== "" && Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** One URL: its spool, its queue and its sender loop. */
class Target {
  readonly url: string;
  readonly label: string;
  readonly #dir: string;
  readonly #id: string;
  readonly #s: Settings;
  #generation: number;
  #file: Deno.FsFile;
  /** Bytes in the current spool. */
  #size: number;
  /** Spool offset up to which everything is done with. */
  #acked: number;
  /** Written to the spool, not yet done with, oldest first. */
  #queue: Entry[];
  /** Events accepted but not yet written to the spool. */
  #incoming: string[] = [];
  /** Events being written right now, and how many of them were evicted meanwhile. */
  #writing = 0;
  #writingEvicted = 0;
  /** Entries at the queue's head in the POST in flight, and how many were evicted meanwhile. */
  #inflight = 0;
  #inflightEvicted = 0;
  /** Evictions not yet logged, and whether the ack offset moved since it was saved. */
  #unloggedDrops = 0;
  #ackDirty = false;
  /** Ends the current backoff sleep early (once, on close). */
  #cutSleep: (() => void) | null = null;
  /** File operations (appends, ack writes, compaction), one at a time, in order. */
  #io: Promise<void> = Promise.resolve();
  #flushScheduled = false;
  #wake: (() => void) | null = null;
  #closing = false;
  readonly #stop = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  readonly stats = { delivered: 0, dropped: 0, rejected: 0, failures: 0 };

  private constructor(
    url: string,
    label: string,
    dir: string,
    id: string,
    settings: Settings,
    state: { generation: number; file: Deno.FsFile; size: number; acked: number; queue: Entry[] },
  ) {
    this.url = url;
    this.label = label;
    this.#dir = dir;
    this.#id = id;
    this.#s = settings;
    this.#generation = state.generation;
    this.#file = state.file;
    this.#size = state.size;
    this.#acked = state.acked;
    this.#queue = state.queue;
  }

  static async open(url: string, label: string, dir: string, s: Settings): Promise<Target> {
    const id = await idOf(url);
    const ackPath = join(dir, `${id}.ack`);
    // Without a (readable) ack file: the oldest spool there is, whole. An older generation is
    // complete (a compaction copies before it switches), so this resends rather than loses.
    let generation = await oldestGeneration(dir, id) ?? 0;
    let acked = 0;
    const ackBytes = await readOrNull(ackPath);
    if (ackBytes !== null) {
      try {
        const ack = JSON.parse(decoder.decode(ackBytes));
        const m = /^[0-9a-f]{16}\.(\d+)\.jsonl$/.exec(String(ack.spool));
        if (!m || !Number.isSafeInteger(ack.offset) || ack.offset < 0) throw new Error("bad");
        generation = Number(m[1]);
        acked = ack.offset;
      } catch {
        // Only ever written whole (rename), so this is someone else's file: start over but say so.
        s.logger.error("webhook ack file unreadable, resending the oldest spool whole", {
          url: label,
          file: ackPath,
        });
        acked = 0;
      }
    }
    const spool = join(dir, `${id}.${generation}.jsonl`);
    const bytes = (await readOrNull(spool)) ?? new Uint8Array(0);
    // A crash can leave a torn last line: cut it off (it was never acknowledged nor sent).
    const lastNl = bytes.lastIndexOf(10);
    const size = lastNl + 1;
    if (acked > size) {
      s.logger.error("webhook ack offset beyond its spool, nothing to resend", {
        url: label,
        offset: acked,
        size,
      });
      acked = size;
    }
    const queue: Entry[] = [];
    let invalid = 0;
    for (let at = acked; at < size;) {
      const nl = bytes.indexOf(10, at);
      const line = decoder.decode(bytes.subarray(at, nl));
      at = nl + 1;
      try {
        JSON.parse(line);
        queue.push({ line, end: at });
      } catch {
        invalid++;
      }
    }
    if (invalid > 0) {
      s.logger.error("webhook spool lines unreadable, skipped", { url: label, invalid });
    }
    const file = await Deno.open(spool, { create: true, read: true, write: true });
    if (size < bytes.length) await file.truncate(size);
    await file.seek(size, Deno.SeekMode.Start);
    // Spools of other generations are leftovers of an interrupted compaction.
    for await (const e of Deno.readDir(dir)) {
      if (
        e.isFile && e.name.startsWith(id + ".") && e.name.endsWith(".jsonl") &&
        e.name !== `${id}.${generation}.jsonl`
      ) {
        await Deno.remove(join(dir, e.name)).catch(() => {});
      }
    }
    const t = new Target(url, label, dir, id, s, { generation, file, size, acked, queue });
    if (queue.length > 0) {
      s.logger.info("webhook events to resend from the spool", {
        url: label,
        queued: queue.length,
      });
    }
    t.#enforceBound();
    await t.#flush();
    t.#loop = t.#run();
    return t;
  }

  get queued(): number {
    return this.#queue.length + this.#writing - this.#writingEvicted + this.#incoming.length;
  }

  /** Accepts one event line: queued for the spool at once, written in this tick's batch. */
  push(line: string): void {
    this.#incoming.push(line);
    this.#enforceBound();
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // After the pipeline's synchronous listener loop: one spool write per written batch.
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  /** Drops the oldest events while more than `maxQueued` wait. */
  #enforceBound(): void {
    let over = this.queued - this.#s.maxQueued;
    if (over <= 0) return;
    while (over > 0) {
      over--;
      this.stats.dropped++;
      this.#unloggedDrops++;
      const head = this.#queue.shift();
      if (head) {
        this.#acked = head.end;
        this.#ackDirty = true;
        if (this.#inflight > 0) {
          this.#inflight--;
          this.#inflightEvicted++;
        }
      } else if (this.#writing - this.#writingEvicted > 0) this.#writingEvicted++;
      else this.#incoming.shift();
    }
    // Logged and saved once per tick by #flush, not once per event: a storm must not become a
    // storm of log lines and file writes.
  }

  /** Queues a file operation after the ones already queued. */
  #serial(op: () => Promise<void>): Promise<void> {
    const next = this.#io.then(op).catch((e) => {
      this.#s.logger.error("webhook spool write failed", { url: this.label, error: String(e) });
    });
    this.#io = next;
    return next;
  }

  /** Writes the incoming events to the spool, then hands them to the sender. */
  #flush(): Promise<void> {
    return this.#serial(async () => {
      if (this.#unloggedDrops > 0) {
        this.#s.logger.warn("webhook queue full, oldest events dropped", {
          url: this.label,
          dropped: this.#unloggedDrops,
          max_queued: this.#s.maxQueued,
        });
        this.#unloggedDrops = 0;
      }
      if (this.#ackDirty) await this.#writeAck();
      if (this.#incoming.length === 0) return;
      const lines = this.#incoming;
      this.#incoming = [];
      this.#writing = lines.length;
      this.#writingEvicted = 0;
      const parts = lines.map((l) => encoder.encode(l + "\n"));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      try {
        await writeAll(this.#file, bytes);
      } catch (e) {
        // Not on disk (disk full?): cut off any part written, so no torn line glues onto the
        // next append, and keep them in memory (ahead of newer ones) for the next flush.
        await this.#file.truncate(this.#size).catch(() => {});
        await this.#file.seek(this.#size, Deno.SeekMode.Start).catch(() => {});
        this.#incoming = lines.slice(this.#writingEvicted).concat(this.#incoming);
        this.#writing = 0;
        this.#writingEvicted = 0;
        throw e;
      }
      const evicted = this.#writingEvicted;
      this.#writing = 0;
      this.#writingEvicted = 0;
      for (let i = 0; i < lines.length; i++) {
        this.#size += parts[i]!.length;
        // Evicted while being written: done with as soon as they are on disk.
        if (i < evicted) this.#acked = this.#size;
        else this.#queue.push({ line: lines[i]!, end: this.#size });
      }
      if (evicted > 0) await this.#writeAck();
      this.#wake?.();
    });
  }

  #saveAck(): Promise<void> {
    return this.#serial(() => this.#writeAck());
  }

  async #writeAck(): Promise<void> {
    this.#ackDirty = false;
    const path = join(this.#dir, `${this.#id}.ack`);
    const spool = `${this.#id}.${this.#generation}.jsonl`;
    await Deno.writeTextFile(
      path + ".tmp",
      JSON.stringify({ url: this.label, spool, offset: this.#acked }) + "\n",
    );
    await Deno.rename(path + ".tmp", path);
  }

  /** Copies the unacknowledged rest to a new spool generation (runs with no POST in flight). */
  #compact(): Promise<void> {
    return this.#serial(async () => {
      if (this.#acked < this.#s.compactBytes || this.#inflight > 0) return;
      const oldPath = join(this.#dir, `${this.#id}.${this.#generation}.jsonl`);
      // Evictions may move #acked while this awaits: shift by the offset the copy starts at.
      const shift = this.#acked;
      const rest = (await Deno.readFile(oldPath)).subarray(shift, this.#size);
      const generation = this.#generation + 1;
      const newPath = join(this.#dir, `${this.#id}.${generation}.jsonl`);
      await Deno.writeFile(newPath, rest);
      const file = await Deno.open(newPath, { read: true, write: true });
      await file.seek(rest.length, Deno.SeekMode.Start);
      const oldFile = this.#file;
      this.#generation = generation;
      this.#file = file;
      this.#size = rest.length;
      this.#acked -= shift;
      for (const e of this.#queue) e.end -= shift;
      await this.#writeAck();
      oldFile.close();
      await Deno.remove(oldPath);
    });
  }

  /** Marks everything up to `end` done with and saves that. */
  async #advance(end: number): Promise<void> {
    while (this.#queue.length > 0 && this.#queue[0]!.end <= end) this.#queue.shift();
    if (end > this.#acked) this.#acked = end;
    await this.#saveAck();
    await this.#compact();
  }

  async #post(lines: readonly string[]): Promise<Outcome> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.#s.timeoutMs), this.#stop.signal]);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.#s.headers },
        body: "[" + lines.join(",") + "]",
        signal,
      });
    } catch (e) {
      return { kind: "retry", reason: e instanceof Error ? e.message : String(e) };
    }
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
    return { kind: "permanent", status, body };
  }

  #backoff(attempt: number, afterMs: number | undefined): number {
    const { retryBaseMs, retryMaxMs, random } = this.#s;
    const cap = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt - 1, 52));
    const delay = cap / 2 + random() * cap / 2;
    return afterMs === undefined ? delay : Math.max(delay, Math.min(afterMs, retryMaxMs));
  }

  async #run(): Promise<void> {
    let attempt = 0;
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (this.#queue.length === 0) {
        if (this.#closing && this.queued === 0) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (stop.aborted || this.#queue.length > 0) resolve();
        });
        this.#wake = null;
        continue;
      }
      await this.#compact();
      const batch = this.#queue.slice(0, this.#s.batchSize);
      this.#inflight = batch.length;
      this.#inflightEvicted = 0;
      const outcome = await this.#post(batch.map((e) => e.line));
      const evicted = this.#inflightEvicted;
      this.#inflight = 0;
      this.#inflightEvicted = 0;
      const end = batch[batch.length - 1]!.end;
      if (outcome.kind === "ok") {
        attempt = 0;
        this.stats.delivered += batch.length;
        this.stats.dropped -= evicted; // they did arrive after all
        await this.#advance(end);
      } else if (outcome.kind === "permanent") {
        attempt = 0;
        this.stats.rejected += batch.length - evicted;
        this.#s.logger.error("webhook refused events, skipped", {
          url: this.label,
          status: outcome.status,
          events: batch.length - evicted,
          body: outcome.body,
        });
        await this.#advance(end);
      } else {
        if (stop.aborted) return; // aborted by close: not a failure of the target
        attempt++;
        this.stats.failures++;
        const delay = this.#backoff(attempt, outcome.afterMs);
        this.#s.logger.warn("webhook delivery failed, will retry", {
          url: this.label,
          error: outcome.reason,
          attempt,
          retry_in_ms: Math.round(delay),
          queued: this.queued,
        });
        const cut = new AbortController();
        this.#cutSleep = () => cut.abort();
        await abortableSleep(delay, AbortSignal.any([stop, cut.signal]));
        this.#cutSleep = null;
      }
    }
  }

  /** Writes what is incoming, sends until empty or `deadline`, then stops and saves. */
  async close(deadline: number): Promise<void> {
    this.#closing = true;
    await this.#flush();
    this.#wake?.();
    // One more attempt now rather than after the current backoff, which may outlast the deadline.
    this.#cutSleep?.();
    const timer = setTimeout(() => {
      this.#stop.abort();
      this.#wake?.();
    }, Math.max(0, deadline - Date.now()));
    try {
      await this.#loop;
    } finally {
      clearTimeout(timer);
      this.#stop.abort();
      this.#wake?.();
    }
    await this.#saveAck();
    await this.#io;
    this.#file.close();
    if (this.queued > 0) {
      this.#s.logger.warn("webhook events left in the spool for the next start", {
        url: this.label,
        queued: this.queued,
      });
    }
  }
}

/**
 * Delivers anomaly events to webhooks (see the module doc for the spool, retries and bounds).
 * Create it with {@linkcode WebhookSink.open}, register it as an `OutputSink` listener and
 * {@linkcode WebhookSink.close} it on shutdown. The body of each POST is a JSON array of the
 * contract's anomaly events, oldest first, with `content-type: application/json`.
 */
export class WebhookSink implements Sink {
  readonly #targets: Target[];
  readonly #closeDeadlineMs: number;
  #closed = false;

  private constructor(targets: Target[], closeDeadlineMs: number) {
    this.#targets = targets;
    this.#closeDeadlineMs = closeDeadlineMs;
  }

  /**
   * Opens (or creates) each URL's spool in `dir`, queues what a previous run left unacknowledged
   * and starts sending.
   * @throws {RangeError} for no URL, a URL that is not http(s), a URL given twice, or a bad bound.
   * @throws {Deno.errors.NotCapable} when a URL's host is not allowed by `--allow-net`.
   */
  static async open(options: WebhookSinkOptions): Promise<WebhookSink> {
    if (options.urls.length === 0) throw new RangeError("urls: at least one webhook URL is needed");
    const settings: Settings = {
      batchSize: positiveInteger("batchSize", options.batchSize ?? 100),
      maxQueued: positiveInteger("maxQueued", options.maxQueued ?? 10_000),
      timeoutMs: positiveNumber("timeoutMs", options.timeoutMs ?? 10_000),
      retryBaseMs: positiveNumber("retryBaseMs", options.retryBaseMs ?? 1000),
      retryMaxMs: positiveNumber("retryMaxMs", options.retryMaxMs ?? 60_000),
      compactBytes: positiveInteger("compactBytes", options.compactBytes ?? 1_048_576),
      headers: { ...options.headers },
      logger: options.logger ?? nullLogger,
      random: options.random ?? Math.random,
    };
    const closeDeadlineMs = options.closeDeadlineMs ?? 5000;
    if (!(closeDeadlineMs >= 0) || !Number.isFinite(closeDeadlineMs)) {
      throw new RangeError(`closeDeadlineMs must be a number >= 0, got ${closeDeadlineMs}`);
    }
    const parsed: [string, string][] = [];
    for (const raw of options.urls) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new RangeError(`webhook URL ${JSON.stringify(raw)} is not a URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RangeError(`webhook URL ${JSON.stringify(redact(url))} is not http(s)`);
      }
      if (parsed.some(([u]) => u === url.href)) {
        throw new RangeError(`webhook URL ${JSON.stringify(redact(url))} is given twice`);
      }
      // Asked now rather than found at the first POST: without it every delivery would fail
      // and be retried forever while the events pile up unsent.
      const net = await Deno.permissions.query({ name: "net", host: url.host });
      if (net.state !== "granted") {
        throw new Deno.errors.NotCapable(
          `webhook URL ${JSON.stringify(redact(url))} needs --allow-net=${url.host}`,
        );
      }
      parsed.push([url.href, redact(url)]);
    }
    await Deno.mkdir(options.dir, { recursive: true });
    const targets: Target[] = [];
    try {
      for (const [href, label] of parsed) {
        targets.push(await Target.open(href, label, options.dir, settings));
      }
    } catch (e) {
      await Promise.all(targets.map((t) => t.close(Date.now())));
      throw e;
    }
    return new WebhookSink(targets, closeDeadlineMs);
  }

  /** Queues the event for every URL. Never throws, never waits. Ignored after close. */
  anomaly(event: AnomalyEvent): void {
    if (this.#closed) return;
    const line = JSON.stringify(event);
    for (const t of this.#targets) t.push(line);
  }

  /** Delivery counts per URL, in the order of `urls`. */
  health(): DeliveryStats[] {
    return this.#targets.map((t) => ({
      sink: "webhook",
      label: "Webhook POST",
      items: "Anomaly events",
      target: t.label,
      queued: t.queued,
      ...t.stats,
    }));
  }

  /**
   * Stops taking events, writes any not yet spooled, keeps delivering until every queue is empty
   * or `deadlineMs` has passed, then aborts what is in flight and closes the spools; what was not
   * acknowledged is resent by the next {@linkcode WebhookSink.open} on the same directory.
   * Idempotent.
   */
  async close(deadlineMs: number = this.#closeDeadlineMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = Date.now() + deadlineMs;
    await Promise.all(this.#targets.map((t) => t.close(deadline)));
  }
}
