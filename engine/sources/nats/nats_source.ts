/**
 * `--source nats://HOST:PORT/SUBJECT --partition k/N`: one partition of the readings published
 * on `SUBJECT.<machine>`, read from NATS JetStream with exactly-once effect on the outputs.
 *
 * Kept whole past ~400 lines: one class whose pull loop, acknowledgement after the checkpoint
 * and reconnection share the consumer's state; the partition mapping is already apart
 * (`nats_partitions.ts`).
 * @module
 */
import type { ConsumerMessages, JsMsg, NatsConnection } from "nats";
import type { Batch } from "../../core/batch.ts";
import {
  ensureConsumer,
  ensureStream,
  NATS_PARTITION_PREFIX,
  NATS_STREAM,
} from "./nats_partitions.ts";
import { PayloadLines } from "../../formats/payload_lines.ts";
import { positiveInteger } from "../../core/validate.ts";

/** Connection state of a {@linkcode NatsSource}, as `/health` shows it. */
export type NatsSourceStatus = "connecting" | "running" | "disconnected" | "closed";

/** Options of {@linkcode NatsSource}. */
export interface NatsSourceOptions {
  /** `nats://HOST:PORT/SUBJECT`: the server and the subject readings are published under. */
  url: string;
  /** This instance's partition k. @default {0} */
  partition?: number;
  /** The number of partitions N (the server's mapping must use the same N). @default {1} */
  partitions?: number;
  /**
   * The stream sequence of the last message the data directory has committed (the checkpoint's
   * `lines`, see {@linkcode NatsSource}); delivery resumes after it. @default {0}
   */
  position?: number;
  /**
   * The event time of the last reading before `position` (the history's last, see
   * {@linkcode NatsSource.history}): the time `parser_errors.log` gives a refused line that
   * comes before any reading of this run, as a replay of the input gives it. @default {null}
   */
  lastTime?: number | null;
  /** @default {NATS_STREAM} */
  stream?: string;
  /** @default {NATS_PARTITION_PREFIX} */
  prefix?: string;
  /** Messages per emitted batch, at most. A positive integer. @default {1000} */
  batchSize?: number;
  /** Messages received and not yet emitted, at most; past it the client stops pulling.
   * A positive integer. @default {10000} */
  maxQueued?: number;
  /** Unacknowledged messages the server delivers at most (consumer `max_ack_pending`).
   * @default {20000} */
  maxAckPending?: number;
  /** Consumer `ack_wait`, ms. @default {60000} */
  ackWaitMs?: number;
  /** Longest payload line. @default {65536} */
  maxLineLength?: number;
  /** First delay before setting up the consumer again after an error, ms; doubles up to
   * 30 s. @default {500} */
  retryMs?: number;
  /** Told of every state change; `detail` says why, when known. */
  onStatus?: (status: NatsSourceStatus, detail?: string) => void;
  /** Aborting it stops pulling; what was received and not emitted is dropped unacknowledged
   * (delivered again at the next start). */
  signal?: AbortSignal;
}

const SUBJECT_TOKEN = /^[^\s.*>]+$/;

/** Splits `nats://HOST:PORT/SUBJECT`. @throws {RangeError} naming a bad URL or subject. */
function splitUrl(url: string): { server: string; subject: string } {
  const m = /^nats:\/\/([^/?#]+)\/([^?#]+)$/.exec(url);
  if (!m) {
    throw new RangeError(
      `bad NATS source ${JSON.stringify(url)}: expected nats://HOST:PORT/SUBJECT`,
    );
  }
  const subject = m[2]!;
  if (!subject.split(".").every((t) => SUBJECT_TOKEN.test(t))) {
    throw new RangeError(
      `bad NATS subject ${JSON.stringify(subject)} in ${JSON.stringify(url)}: ` +
        "dot-separated tokens without wildcards or spaces",
    );
  }
  return { server: m[1]!, subject };
}

/**
 * Reads partition k of N through the durable pull consumer `vigil-p<k>-of-<N>` (see
 * `nats_partitions.ts`) and emits {@linkcode Batch}es of up to `batchSize` messages, one or
 * more JSON readings per message (one a line; the machine is the payload's `machine`, else the
 * subject's last token).
 *
 * **Positions.** A batch's `lines` is how far it moves the input position, counted in stream
 * sequence numbers: the sequence of its last message minus that of the previous batch's (the
 * other partitions' messages in between are "skipped lines"). So the checkpoint's `lines` is
 * the stream sequence of the last committed message, and a run resumes from it: open the run
 * with `streamDerived: true` (`stream_output.jsonl` is then cut back to the checkpoint with
 * the other outputs), re-read that file as history ({@linkcode NatsSource.history}), then this
 * source with `position` = the checkpoint's lines.
 *
 * **Exactly once.** Nothing is acknowledged before it is committed: the run calls
 * {@linkcode NatsSource.commit} with the checkpoint's lines after each checkpoint, which acks
 * (AckAll) the last message of every batch up to it. A crash before the checkpoint leaves the
 * batch unacknowledged and uncommitted; at the next start the consumer is set back to deliver
 * from the checkpoint's sequence + 1, in order. Redeliveries of what was already received are
 * dropped by sequence. If a delivery is lost on the way (a broken connection: the consumer's
 * delivery sequence skips), the source waits until everything received is committed and sets
 * the consumer back to the committed sequence + 1, so no message is skipped or reordered.
 *
 * Memory is bounded by `maxQueued` messages here plus the client's pull window (at most
 * `min(maxQueued, 1000)` messages).
 */
export class NatsSource {
  /** Batches in stream order; closes when `signal` aborts, errors if the server refuses. */
  readonly readable: ReadableStream<Batch>;
  /** The subject readings are published under (`SUBJECT.<machine>`). */
  readonly subject: string;
  readonly partition: number;
  readonly partitions: number;
  #nc: NatsConnection | null = null;
  #messages: ConsumerMessages | null = null;
  #status: NatsSourceStatus = "connecting";
  #queue: JsMsg[] = [];
  /** Sequence of the last message queued, emitted and committed. */
  #queued: number;
  #emitted: number;
  #committed: number;
  /** The last message of each emitted batch not yet committed, oldest first. */
  #tails: JsMsg[] = [];
  #stopped = false;
  #closed = false;
  #dataWaiter: (() => void) | null = null;
  #spaceWaiter: (() => void) | null = null;
  #commitWaiter: (() => void) | null = null;
  #resyncs = 0;
  #received = 0;

  /** @throws {RangeError} for a bad URL, partition or option (naming the value). */
  constructor(options: NatsSourceOptions) {
    const { server, subject } = splitUrl(options.url);
    this.subject = subject;
    const partitions = positiveInteger("partitions", options.partitions ?? 1);
    const partition = options.partition ?? 0;
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new RangeError(`partition must be an integer in [0, ${partitions}), got ${partition}`);
    }
    this.partition = partition;
    this.partitions = partitions;
    const position = options.position ?? 0;
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new RangeError(`position must be an integer >= 0, got ${position}`);
    }
    this.#queued = this.#emitted = this.#committed = position;
    const batchSize = positiveInteger("batchSize", options.batchSize ?? 1000);
    const maxQueued = positiveInteger("maxQueued", options.maxQueued ?? 10_000);
    const stream = options.stream ?? NATS_STREAM;
    const prefix = options.prefix ?? NATS_PARTITION_PREFIX;
    const retryMs = options.retryMs ?? 500;
    let lastTime = options.lastTime ?? null;
    /** The batch being filled and the machine of the message being read (its subject's last
     * token). */
    let batch: Batch = { readings: [], errors: [], lines: 0, suppress: false, log: true };
    let subjectMachine = "";
    // JSON lines read from the message's bytes; a line the scanner declines is decoded and
    // parsed (issue 14).
    const payloads = new PayloadLines(
      { format: "json", maxLineLength: options.maxLineLength },
      (r, named) => {
        // The parser names a reading without `machine` m1; the subject names it here.
        if (!named) r.machine = subjectMachine;
        batch.readings.push(r);
        lastTime = r.timestamp;
      },
      (line, error) => batch.errors.push({ line, error, time: lastTime }),
    );

    const status = (s: NatsSourceStatus, detail?: string) => {
      if (this.#status === s && detail === undefined) return;
      this.#status = s;
      options.onStatus?.(s, detail);
    };
    const wake = (which: "data" | "space" | "commit") => {
      const w = which === "data"
        ? this.#dataWaiter
        : which === "space"
        ? this.#spaceWaiter
        : this.#commitWaiter;
      if (which === "data") this.#dataWaiter = null;
      else if (which === "space") this.#spaceWaiter = null;
      else this.#commitWaiter = null;
      w?.();
    };
    this.#wake = wake;

    const stop = () => {
      if (this.#stopped) return;
      this.#stopped = true;
      void this.#messages?.close();
      status("closed");
      wake("data");
      wake("space");
      wake("commit");
    };

    /** Receives into the queue until stopped; sets the consumer up again after any trouble. */
    const consumeLoop = async (nc: NatsConnection) => {
      const jsm = await nc.jetstreamManager();
      const js = nc.jetstream();
      let delay = retryMs;
      let first = true;
      while (!this.#stopped) {
        try {
          if (!first) {
            // Everything received must be committed first: the consumer is set back to the
            // committed sequence, and acks of older deliveries must not reach the new one.
            while (this.#committed < this.#queued && !this.#stopped) {
              await new Promise<void>((r) => this.#commitWaiter = r);
            }
            if (this.#stopped) return;
            this.#resyncs++;
          }
          first = false;
          await ensureStream(jsm, { stream, prefix });
          const name = await ensureConsumer(jsm, {
            stream,
            prefix,
            partition,
            partitions,
            position: this.#committed,
            maxAckPending: options.maxAckPending,
            ackWaitMs: options.ackWaitMs,
          });
          const consumer = await js.consumers.get(stream, name);
          const messages = await consumer.consume({ max_messages: Math.min(maxQueued, 1000) });
          this.#messages = messages;
          if (this.#stopped) {
            await messages.close();
            return;
          }
          status("running");
          let lastDelivery = 0;
          let gap = false;
          for await (const m of messages) {
            const d = m.info.deliverySequence;
            if (lastDelivery !== 0 && d !== lastDelivery + 1) {
              gap = true;
              break;
            }
            lastDelivery = d;
            delay = retryMs;
            if (m.seq <= this.#queued) {
              // A redelivery of what was received already. Once committed, acking it again
              // is harmless and stops further redeliveries.
              if (m.seq <= this.#committed) m.ack();
              continue;
            }
            this.#queued = m.seq;
            this.#received++;
            this.#queue.push(m);
            wake("data");
            while (this.#queue.length >= maxQueued && !this.#stopped) {
              await new Promise<void>((r) => this.#spaceWaiter = r);
            }
            if (this.#stopped) break;
          }
          // Not awaited: after a `break` out of its iterator, nats.js's (2.29) close() never
          // settles. Leaving the loop has already unsubscribed and cleared its timers, and the
          // rest of its stop is queued on the iterator that just returned. Awaiting it here hung
          // this loop for good at the first lost delivery (e.g. a server restart that forgot
          // the consumer's delivered sequence), so the source never set the consumer back.
          void messages.close();
          if (this.#messages === messages) this.#messages = null;
          if (gap) status("running", "a delivery was lost: consumer set back");
          else if (!this.#stopped) throw new Error("the consumer's message stream ended");
        } catch (e) {
          if (this.#stopped) return;
          status("disconnected", String((e as Error)?.message ?? e));
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 30_000);
        }
      }
    };

    const toBatch = (msgs: JsMsg[]): Batch => {
      batch = { readings: [], errors: [], lines: 0, suppress: false, log: true };
      for (const m of msgs) {
        subjectMachine = m.subject.slice(m.subject.lastIndexOf(".") + 1);
        payloads.read(m.data);
      }
      const last = msgs[msgs.length - 1]!;
      batch.lines = last.seq - this.#emitted;
      this.#emitted = last.seq;
      this.#tails.push(last);
      return batch;
    };

    this.readable = new ReadableStream<Batch>({
      start: async () => {
        if (options.signal?.aborted) {
          stop();
          return;
        }
        options.signal?.addEventListener("abort", stop, { once: true });
        const { connect } = await import("nats");
        let nc: NatsConnection;
        try {
          nc = await connect({
            servers: server,
            name: `vigil-p${partition}-of-${partitions}`,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
          });
        } catch (e) {
          throw new Error(`NATS ${server}: ${(e as Error).message}`);
        }
        this.#nc = nc;
        (async () => {
          for await (const s of nc.status()) {
            if (this.#stopped) return;
            if (s.type === "disconnect") status("disconnected", `lost ${server}`);
            else if (s.type === "reconnect") status("running");
          }
        })().catch(() => {});
        consumeLoop(nc).catch((e) => status("disconnected", String(e)));
      },
      pull: async (controller) => {
        if (this.#queue.length < batchSize) {
          while (this.#queue.length === 0 && !this.#stopped) {
            await new Promise<void>((r) => this.#dataWaiter = r);
          }
          // The client hands over the messages of one socket read one microtask at a time:
          // one macrotask lets the rest of them join this batch (one checkpoint per batch,
          // not per message, when the pipeline is faster than the wire).
          await new Promise((r) => setTimeout(r, 0));
        }
        if (this.#stopped) {
          if (!this.#closed) {
            this.#closed = true;
            this.#queue = [];
            controller.close();
          }
          return;
        }
        const msgs = this.#queue.length <= batchSize
          ? this.#queue.splice(0)
          : this.#queue.splice(0, batchSize);
        wake("space");
        controller.enqueue(toBatch(msgs));
      },
      cancel: () => {
        this.#closed = true;
        stop();
      },
    }, { highWaterMark: 0 });
  }

  #wake: (which: "data" | "space" | "commit") => void = () => {};

  /**
   * Tells the source that the outputs are committed up to stream sequence `position` (the
   * checkpoint's `lines`): acknowledges every message up to it (one AckAll).
   */
  commit(position: number): void {
    if (position <= this.#committed) return;
    let ack: JsMsg | null = null;
    while (this.#tails.length > 0 && this.#tails[0]!.seq <= position) ack = this.#tails.shift()!;
    this.#committed = position;
    try {
      ack?.ack();
    } catch {
      // Connection closed: the message is redelivered at the next start and skipped there,
      // since the consumer is set back to the committed position.
    }
    this.#wake("commit");
  }

  /** Flushes the last acknowledgements and closes the connection; call after the run ended. */
  async close(): Promise<void> {
    const nc = this.#nc;
    this.#nc = null;
    if (!this.#stopped) {
      this.#stopped = true;
      await this.#messages?.close();
    }
    if (!nc || nc.isClosed()) return;
    try {
      await nc.flush();
      await nc.close();
    } catch {
      // Closed meanwhile: unflushed acks only mean redeliveries, skipped at the next start.
    }
  }

  /** Connection state now. */
  get status(): NatsSourceStatus {
    return this.#status;
  }

  /** Stream sequence of the last committed message. */
  get committed(): number {
    return this.#committed;
  }

  /** Messages received (not counting redeliveries dropped as already received). */
  get received(): number {
    return this.#received;
  }

  /** How often the consumer was set back after a lost delivery or an error. */
  get resyncs(): number {
    return this.#resyncs;
  }

  /** The checkpoint source id of partition k of N on `url`'s subject. */
  static sourceId(url: string, partition: number, partitions: number): string {
    return `nats:${splitUrl(url).subject}#${partition}/${partitions}`;
  }

  /**
   * What the data directory committed, re-read as history to rebuild the analyzer's state:
   * `log` is `stream_output.jsonl` (cut back to the checkpoint by the run) read with every line
   * suppressed; it becomes suppressed batches that
   * move no position, then one empty batch that moves it to `position`, so that the run's line
   * count is the stream sequence again before the first live batch. `onTime` is told the event
   * time of each batch's last reading (for {@linkcode NatsSourceOptions.lastTime}).
   */
  static history(
    log: ReadableStream<Batch>,
    position: number,
    onTime?: (time: number) => void,
  ): ReadableStream<Batch> {
    return log.pipeThrough(
      new TransformStream<Batch, Batch>({
        transform(batch, controller) {
          // From the columns when the log's batch has them (the file source's), and the batch
          // itself passed on (it is this stream's alone): no reading object built for either.
          const c = batch.columns;
          if (c) {
            if (c.length > 0) onTime?.(c.time[c.length - 1]!);
          } else {
            const last = batch.readings.at(-1);
            if (last) onTime?.(last.timestamp);
          }
          batch.lines = 0;
          controller.enqueue(batch);
        },
        flush(controller) {
          controller.enqueue({
            readings: [],
            errors: [],
            lines: position,
            suppress: true,
            log: false,
          });
        },
      }),
    );
  }
}
