/**
 * `--source mqtt://HOST:PORT/TOPIC`: readings from an MQTT broker as a stream of `Reading[]`
 * batches, on a persistent QoS-1 session so that nothing published while the engine or the
 * broker is down is lost.
 *
 * Kept whole past ~400 lines: one class whose persistent session, bounded queue with broker
 * back-pressure and reconnection share the client's state; the parsers are in `formats/`.
 * @module
 */
import { PayloadLines } from "../../formats/payload_lines.ts";
import { machineIdError } from "../../formats/reading_rules.ts";
import { ByteText } from "../../formats/byte_text.ts";
import { writeReading } from "../../formats/reading_format.ts";
import type { BatchText } from "../../core/batch.ts";
import type { Reading } from "../../core/types.ts";
import { positiveInteger } from "../../core/validate.ts";
import { deliveryHash, deliveryHashOfAscii, DeliveryJournal } from "./ack_journal.ts";
import { AckQueue, PendingDeliveries, SEEN, SeenDeliveries } from "./delivery_tables.ts";
import { type BrokerAddress, MqttConnection, parseBroker } from "./mqtt_connection.ts";
import { type Publish, reasonText, writePuback } from "./mqtt_wire.ts";

/** A payload line the parser refused, with the topic it came on. */
export interface MqttParseError {
  topic: string;
  line: string;
  error: string;
  /** Receive time, epoch ms. */
  time: number;
}

/** A batch of {@linkcode MqttSource.batches}: its readings and, with the `lines` option, their
 * `stream_output.jsonl` lines. */
export interface MqttBatch {
  readings: Reading[];
  /** One line per reading, in order (`lines`: true), to be released once written. */
  text?: BatchText;
}

/** Topics whose machine id is kept (see `machineFromTopic`); past it the table starts afresh. */
const TOPIC_IDS = 4096;

/** Released line buffers kept for later batches, at most: as many as the pipeline holds
 * batches between the source and the writer; more are left to the garbage collector. */
const SPARE_TEXTS = 4;

/** Connection state of an {@linkcode MqttSource}, as `/health` shows it. */
export type MqttSourceStatus = "connecting" | "connected" | "offline" | "closed";

/** Options of {@linkcode MqttSource}. */
export interface MqttSourceOptions {
  /** `mqtt://HOST:PORT/TOPIC` (or `mqtts://`); TOPIC is a filter and may hold `+` and `#`. */
  url: string;
  /**
   * The MQTT client id. It names the broker's persistent session, so it must be the same on
   * every start of one engine and differ between engines.
   * @default {`vigil-` + a hash of `dataDir` and the topic}
   */
  clientId?: string;
  /** The data directory the default client id is derived from. @default {"data"} */
  dataDir?: string;
  /**
   * The topic level (0-based) that holds the machine id, e.g. 1 for `plant/+/telemetry`;
   * `null`: the payload's machine, else the whole topic.
   * @default {the level of the filter's `+` when it has exactly one, else null}
   */
  machineFromTopic?: number | null;
  /** Payload format; `auto`: JSON when the payload starts with `{`, else `kv`.
   * @default {"auto"} */
  format?: "auto" | "json" | "kv";
  /**
   * Readings received but not yet taken by the pipeline, at most (plus one payload's worth).
   * When full, the next message is neither parsed nor acknowledged until there is room: see
   * {@linkcode MqttSource} for how that holds the broker back. A positive integer.
   * @default {10000}
   */
  maxQueued?: number;
  /** Readings per emitted batch, at most. A positive integer. @default {8192} */
  batchSize?: number;
  /**
   * Longest time a batch is held back for more readings, ms (0: emitted as soon as the reader
   * asks). A batch costs the engine a checkpoint, a write per output file and a PUBACK write
   * whatever its size, so a steady stream in batches of a few hundred readings spends most of
   * its CPU per batch: holding each for up to 50 ms took a live engine's CPU per reading from
   * 35.3 to 29.3 CPU-s per million (bench/mqtt_peers_bench.ts, 100,000 readings of 1,000
   * machines, side by side, medians of 3). The wait ends early once `batchSize` readings are
   * queued or half the receive window (`receiveMaximum`) waits for acknowledgement, when
   * waiting longer would only hold the broker back. A reading reaches the outputs up to this
   * much later. @default {50}
   */
  lingerMs?: number;
  /**
   * Messages the broker may send before they are acknowledged (the MQTT 5 Receive Maximum,
   * 1…65535): what can be in flight on the wire besides the queue. Below a few hundred the
   * round trips limit the rate; far above, nothing is gained.
   * @default {1000}
   */
  receiveMaximum?: number;
  /** First delay before reconnecting after a lost connection, ms; doubles per failed attempt.
   * @default {500} */
  reconnectMinMs?: number;
  /** Longest delay between reconnect attempts, ms. @default {30000} */
  reconnectMaxMs?: number;
  /** Longest line of a payload. @default {65536} */
  maxLineLength?: number;
  /** `kv` payloads must carry the `device` profile's keys (see `LineParserOptions.deviceKeys`).
   * @default {false} */
  deviceKeys?: boolean;
  /**
   * When a message is acknowledged (PUBACK): `taken`, once the reader has taken the batch that
   * holds its readings; `committed`, once {@linkcode MqttSource.commit} says the line after its
   * last reading is committed (the engine: after the checkpoint that follows the write to
   * `stream_output.jsonl`).
   * @default {"taken"}
   */
  acknowledge?: "taken" | "committed";
  /**
   * Lines already in the reader's log before the first reading of this source (the engine: the
   * lines of `stream_output.jsonl` re-read as history). Readings are numbered from here on, in
   * the order they are emitted: the numbers {@linkcode MqttSource.commit} takes. A
   * non-negative integer. @default {0}
   */
  position?: number;
  /**
   * The delivery journal's path (see `ack_journal.ts`): with it, a message the broker delivers
   * again after a restart whose readings are already below `position` is acknowledged and
   * dropped instead of read twice. @default {none: only redeliveries within this run are
   * recognised}
   */
  journal?: string;
  /**
   * Builds each batch's `stream_output.jsonl` lines as the payloads are read
   * ({@linkcode MqttBatch.text}): a payload line already in the written form is copied, any
   * other reading formatted (`writeReading`). Formatting each reading again at the writer took
   * about 0.3 of the 3.3 busy seconds of a live engine's main thread, besides the history
   * (BENCHMARKS.md, "The live MQTT path's JavaScript and garbage"). The lines of the queue are
   * held as the queue is: up to `maxQueued` readings' (plus one payload's).
   * @default {false}
   */
  lines?: boolean;
  /** Told of every payload line the parser refused (the pipeline logs and counts it). */
  onParseError?: (error: MqttParseError) => void;
  /** Told of every state change; `detail` is the error that caused an `offline`, if any. */
  onStatus?: (status: MqttSourceStatus, detail?: string) => void;
  /** Aborting it disconnects; queued readings are still delivered, then the stream closes. */
  signal?: AbortSignal;
}

/** Splits `mqtt://HOST:PORT/TOPIC` into the broker and the topic filter. */
function splitUrl(url: string): { broker: BrokerAddress; topic: string } {
  // Not `new URL`: a `#` wildcard would be taken for a fragment and dropped.
  const m = /^(mqtts?):\/\/([^/?#]+)\/(.+)$/.exec(url);
  if (!m) {
    throw new RangeError(`bad MQTT source ${JSON.stringify(url)}: expected mqtt://HOST:PORT/TOPIC`);
  }
  let topic: string;
  try {
    topic = decodeURIComponent(m[3]!);
  } catch {
    throw new RangeError(`bad MQTT topic in ${JSON.stringify(url)}: bad %-escape`);
  }
  const levels = topic.split("/");
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (
      (l.includes("+") && l !== "+") || (l.includes("#") && (l !== "#" || i !== levels.length - 1))
    ) {
      throw new RangeError(`bad MQTT topic filter ${JSON.stringify(topic)}: misplaced wildcard`);
    }
  }
  return { broker: parseBroker(`${m[1]}://${m[2]}`), topic };
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable client id. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Subscribes to a topic filter and turns every message into readings.
 *
 * **Session.** MQTT 5, clean start off and a session that never expires, with a stable client
 * id and a QoS-1 subscription: while this client is away (engine stopped, network down) the
 * broker keeps queueing the messages for it, and it keeps the session across its own restarts
 * when it has persistence on (mosquitto: `persistence true`, saved on SIGTERM, in a
 * `persistence_location` the `mosquitto` user can write; note its `max_queued_messages`, 1000
 * by default, caps what it holds per client: raise it, 0 = no limit, for long outages). After
 * a lost connection it reconnects with exponential backoff (`reconnectMinMs` doubling to
 * `reconnectMaxMs`). The protocol is spoken by `mqtt_connection.ts` over Deno's TCP (TLS for
 * `mqtts://`, `USER:PASSWORD@` before the host to log in), with a 60 s keep-alive.
 *
 * **Payloads.** One reading per line (a payload may carry several lines), JSON or `kv`; `kv`
 * carries no time, so its event time is the receive time. The machine id comes from the
 * topic level `machineFromTopic` when set, else from the payload's `machine` (`M:` in `kv`),
 * else it is the whole topic.
 *
 * **Backpressure and QoS 1.** Messages are parsed into the bounded queue (`maxQueued`), which
 * {@linkcode MqttSource.readable} drains into the pipeline as batches. When the queue is full
 * the message waits, without parsing, and the connection stops reading the socket (TCP pushes
 * back) until there is room; the broker, whose window of
 * unacknowledged messages for this client is full (`receiveMaximum`), keeps the rest queued in
 * the session. Nothing is dropped; the broker just holds more.
 *
 * **Acknowledgements.** A message is acknowledged only once its readings are taken
 * (`acknowledge: "taken"`) or committed (`"committed"`, the engine: in `stream_output.jsonl`
 * and checkpointed), so a crash (`kill -9`) loses nothing: whatever was not acknowledged is
 * delivered again. The PUBACKs of a commit go out in one write. Messages that arrive again with
 * the DUP flag, whose packet id and topic-and-payload hash match one already read (this run,
 * or, with `journal`, one whose readings the log already holds), are acknowledged with it and
 * not read twice; a message whose readings were only partly written is read from the first
 * missing one. A clean stop (`signal`) delivers the queue before closing.
 */
export class MqttSource {
  /** The batches: of `Reading[]` ({@linkcode MqttSource.readable}), or with the `lines`
   * option of {@linkcode MqttBatch} ({@linkcode MqttSource.batches}). */
  readonly #stream: ReadableStream<Reading[] | MqttBatch>;
  /** The client id in use (the broker's session name). */
  readonly clientId: string;
  /** The topic filter subscribed to. */
  readonly topic: string;
  #conn: MqttConnection | null = null;
  #status: MqttSourceStatus = "connecting";
  #queue: Reading[] = [];
  /** The queued readings' lines, in order (the `lines` option), else null. */
  #text: ByteText | null;
  readonly #spareTexts: ByteText[] = [];
  #messages = 0;
  #readings = 0;
  #errors = 0;
  #reconnects = 0;
  #subscribed = false;
  /** A parse error was reported since the last batch: the next pull emits even if empty. */
  #wake = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #closed = false;
  /** Bumped on every lost connection: a handler of an older connection must not ack. */
  #generation = 0;
  /** Readings ingested so far, counted from `position`: the next one's line. */
  #nextLine = 0;
  /** Readings emitted so far, counted from `position`. */
  #emittedLine = 0;
  /**
   * Acknowledgements due once their line is committed (or taken), oldest first; all of the
   * current connection's (emptied when it closes).
   */
  readonly #acks = new AckQueue();
  /** The latest delivery of each packet id, to recognise a redelivery (DUP). */
  readonly #seen = new SeenDeliveries();
  /** Deliveries not yet in the journal. */
  readonly #unjournaled = new PendingDeliveries();
  #journal: DeliveryJournal | null = null;
  #ackMode: "taken" | "committed";
  /** The pull waiting for readings, if any. */
  #dataWaiter: (() => void) | null = null;
  /** The pull holding a batch back (`lingerMs`), woken when it should stop waiting. */
  #lingerWaiter: (() => void) | null = null;

  /** @throws {RangeError} for a bad URL, topic filter or option (naming the value). */
  constructor(options: MqttSourceOptions) {
    const { broker, topic } = splitUrl(options.url);
    this.topic = topic;
    const maxQueued = positiveInteger("maxQueued", options.maxQueued ?? 10_000);
    const batchSize = positiveInteger("batchSize", options.batchSize ?? 8192);
    const receiveMaximum = positiveInteger("receiveMaximum", options.receiveMaximum ?? 1000);
    if (receiveMaximum > 65535) {
      throw new RangeError(`receiveMaximum must be at most 65535, got ${receiveMaximum}`);
    }
    const lingerMs = options.lingerMs ?? 50;
    if (!(lingerMs >= 0) || !Number.isFinite(lingerMs)) {
      throw new RangeError(`lingerMs must be a number >= 0, got ${lingerMs}`);
    }
    /** Whether a batch held back should go now: full, or the window half taken. */
    const full = () =>
      this.#queue.length >= batchSize || this.#acks.length * 2 >= receiveMaximum ||
      this.#wake || this.#stopped;
    const minMs = options.reconnectMinMs ?? 500;
    const maxMs = options.reconnectMaxMs ?? 30_000;
    if (!(minMs > 0) || !(maxMs >= minMs)) {
      throw new RangeError(`reconnect delays must be 0 < min <= max, got ${minMs} and ${maxMs}`);
    }
    const position = options.position ?? 0;
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new RangeError(`position must be an integer >= 0, got ${position}`);
    }
    this.#nextLine = this.#emittedLine = position;
    const ackMode = options.acknowledge ?? "taken";
    if (ackMode !== "taken" && ackMode !== "committed") {
      throw new RangeError(
        `acknowledge must be taken or committed, got ${JSON.stringify(ackMode)}`,
      );
    }
    this.#ackMode = ackMode;
    this.#text = options.lines ? new ByteText() : null;
    const format = options.format ?? "auto";
    if (format !== "auto" && format !== "json" && format !== "kv") {
      throw new RangeError(`format must be auto, json or kv, got ${JSON.stringify(format)}`);
    }
    const levels = topic.split("/");
    const plus = levels.flatMap((l, i) => (l === "+" ? [i] : []));
    const level = options.machineFromTopic === undefined
      ? (plus.length === 1 ? plus[0]! : null)
      : options.machineFromTopic;
    if (level !== null && (!Number.isInteger(level) || level < 0)) {
      throw new RangeError(`machineFromTopic must be a topic level >= 0, got ${level}`);
    }
    // A stable id per data directory and topic: the same engine finds its session again, and
    // a new topic gets a new session instead of inheriting the old subscription.
    this.clientId = options.clientId ??
      `vigil-${fnv1a(`${options.dataDir ?? "data"}\n${topic}`)}`;

    let now = 0;
    const decoder = new TextDecoder();
    const status = (s: MqttSourceStatus, detail?: string) => {
      if (this.#status === s && detail === undefined) return;
      this.#status = s;
      options.onStatus?.(s, detail);
    };

    /** The current message's topic. */
    let t = "";
    const refuse = (line: string, error: string) => {
      this.#errors++;
      options.onParseError?.({ topic: t, line, error, time: now });
      this.#wake = true;
    };
    /** Readings of the current message still to drop (it was partly written before). */
    let skip = 0;
    /** The machine id the current message's topic gives (`level`), "" when none. */
    let topicId = "";
    /** The machine id of each topic seen (its level `level`), at most `TOPIC_IDS`: a plant's
     * topics come again on every message, and splitting each was garbage per reading. */
    const topicIds = new Map<string, string>();
    const payloads: PayloadLines = new PayloadLines(
      {
        format,
        maxLineLength: options.maxLineLength,
        deviceKeys: options.deviceKeys,
        now: () => now,
      },
      (r, named) => {
        // An id from the topic obeys the payload's rules (docs/input-formats.md); the parsers
        // have checked the payload's own (or their default `m1`), so only a new id is checked.
        let badId: string | null = null;
        let renamed = false;
        if (level !== null) {
          if (topicId && topicId !== r.machine) {
            r.machine = topicId;
            badId = machineIdError(topicId);
            renamed = true;
          }
        } else if (!named) {
          // The parsers default to `m1`; a payload naming no machine is named by its topic.
          r.machine = t;
          badId = machineIdError(t);
          renamed = true;
        }
        if (badId !== null) return refuse(payloads.line(), badId);
        if (skip > 0) {
          skip--;
          return;
        }
        this.#queue.push(r);
        const text = this.#text;
        if (text !== null && (renamed || !payloads.copyLine(text))) writeReading(r, text);
        this.#readings++;
      },
      refuse,
    );

    const ingest = (packet: Publish) => {
      now = Date.now();
      t = packet.topic;
      // Hashed from the bytes where they lie when they are the text's char codes (all ASCII):
      // the journal's hashes are the same either way (tests/unit/mqtt_payload_test.ts).
      // Otherwise decoded once, for the hash and the lines. The lines are read from a view
      // of the payload: searching the packet's whole read buffer for newlines would cost more
      // than the view.
      let hash = deliveryHashOfAscii(t, packet.bytes, packet.payloadStart, packet.payloadEnd);
      const bytes = packet.payload;
      const text = hash === -1 ? decoder.decode(bytes) : null;
      if (text !== null) hash = deliveryHash(t, text);
      const id = packet.id;
      const seen = this.#seen;
      const state = packet.dup && seen.hash(id) === hash ? seen.state(id) : SEEN.none;
      if (state === SEEN.whole) {
        // Read already: acknowledged once what it became is.
        this.#acks.push(id, seen.end(id));
        return;
      }
      // Partly written before the restart: from its first reading past `position` on.
      skip = state === SEEN.partial ? position - seen.start(id) : 0;
      this.#messages++;
      if (level !== null) {
        let id = topicIds.get(t);
        if (id === undefined) {
          id = t.split("/")[level] ?? "";
          if (topicIds.size >= TOPIC_IDS) topicIds.clear();
          topicIds.set(t, id);
        }
        topicId = id;
      }
      const before = this.#queue.length;
      if (text === null) payloads.read(bytes);
      else payloads.readText(text);
      const lines = this.#queue.length - before;
      const first = this.#nextLine;
      this.#nextLine += lines;
      if (packet.qos > 0) {
        seen.set(id, hash, first, lines, SEEN.whole);
        this.#unjournaled.push(id, hash, first, lines);
        this.#acks.push(id, this.#nextLine);
      }
      if ((this.#queue.length > before || this.#wake) && this.#dataWaiter) {
        const w = this.#dataWaiter;
        this.#dataWaiter = null;
        w();
      }
      if (this.#lingerWaiter && full()) {
        const w = this.#lingerWaiter;
        this.#lingerWaiter = null;
        w();
      }
    };

    /** A message of the connection of `generation`: taken (acknowledged later, #ackUpTo) or,
     * `false`, held by the connection until there is room. */
    const accept = (packet: Publish, generation: number): boolean => {
      // Stopped, or the connection this came on is gone: never acked, so the broker keeps it
      // (and redelivers it on the next connection of this session).
      if (this.#stopped || generation !== this.#generation) return false;
      if (this.#queue.length >= maxQueued) return false; // offered again by wakeSpace
      ingest(packet);
      return true;
    };

    const wakeSpace = () => {
      if (this.#queue.length < maxQueued) this.#conn?.resume();
    };

    const stop = () => {
      if (this.#stopped) return;
      this.#stopped = true; // a message waiting for room stays unacked
      clearTimeout(this.#retry);
      this.#retry = undefined;
      if (this.#ackMode === "taken") {
        // What is queued is still delivered to the reader: acknowledged now, before the end.
        this.#ackUpTo(Number.MAX_SAFE_INTEGER);
        void this.#end();
      } // else committed acknowledgements still follow the final checkpoint: close() ends.
      status("closed");
      for (const w of [this.#dataWaiter, this.#lingerWaiter]) w?.();
      this.#dataWaiter = this.#lingerWaiter = null;
    };

    this.#stream = new ReadableStream<Reading[] | MqttBatch>({
      start: async (controller) => {
        if (options.signal?.aborted) {
          this.#stopped = true;
          this.#status = "closed";
          this.#closed = true;
          controller.close();
          return;
        }
        options.signal?.addEventListener("abort", stop, { once: true });
        if (options.journal) {
          const journal = await DeliveryJournal.open(options.journal, receiveMaximum);
          this.#journal = journal;
          // Written whole: dropped when it comes again; partly: read from the first missing
          // reading; not at all (past `position`): read as new.
          this.#seen.load(journal.records, position);
        }
        if (this.#stopped) return; // aborted meanwhile: pull() closes the stream
        let delay = minMs;
        let subscribed = false;
        const connect = () => {
          const generation = this.#generation;
          /** The SUBACK awaited, if any. */
          let subscribing = false;
          const conn: MqttConnection = new MqttConnection(broker, {
            clientId: this.clientId,
            keepalive: 60,
            cleanStart: false,
            // MQTT 5: without it the broker would end the session at the first disconnect.
            sessionExpiry: 0xffffffff,
            receiveMaximum,
          }, {
            onConnack: (c) => {
              delay = minMs;
              status("connected");
              // With a session present the broker kept the subscription; without (a broker that
              // lost its state), it is made again.
              if (!subscribed || !c.sessionPresent) {
                subscribing = true;
                conn.subscribe(topic, 1);
              }
            },
            onPublish: (p) => accept(p, generation),
            onSuback: (a) => {
              subscribing = false;
              if (this.#stopped) return;
              const code = a.reasonCodes[0] ?? 0x80;
              if (code < 0x80) {
                subscribed = true;
                this.#subscribed = true;
                return;
              }
              // Refused (e.g. by an ACL): no reading will ever come, so say so and stop.
              this.#closed = true;
              controller.error(
                new Error(
                  `MQTT subscribe to ${JSON.stringify(topic)}: refused by the broker ` +
                    `(${reasonText(code)}${a.reason ? `: ${a.reason}` : ""})`,
                ),
              );
              stop();
            },
            onClose: (error) => {
              this.#generation++;
              // Acknowledgements of the lost connection's messages cannot be sent on the next:
              // the broker delivers those messages again (DUP) and they are acknowledged then.
              this.#acks.clear();
              if (this.#stopped || this.#retry !== undefined) return;
              // The connection went before the SUBACK: subscribed again on the next connect.
              status(
                "offline",
                subscribing
                  ? `subscribe to ${JSON.stringify(topic)}: ${
                    error?.message ?? "connection closed"
                  }`
                  : error?.message,
              );
              this.#retry = setTimeout(() => {
                this.#retry = undefined;
                if (this.#stopped) return;
                this.#reconnects++;
                status("connecting");
                connect();
              }, delay);
              delay = Math.min(delay * 2, maxMs);
            },
          });
          this.#conn = conn;
          conn.start();
        };
        connect();
      },
      pull: async (controller) => {
        while (this.#queue.length === 0 && !this.#wake) {
          if (this.#stopped) {
            if (!this.#closed) {
              this.#closed = true;
              controller.close();
            }
            return;
          }
          await new Promise<void>((resolve) => this.#dataWaiter = resolve);
        }
        if (lingerMs > 0 && !full()) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.#lingerWaiter = null;
              resolve();
            }, lingerMs);
            this.#lingerWaiter = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        this.#wake = false;
        let batch: Reading[];
        if (this.#queue.length <= batchSize) {
          batch = this.#queue;
          this.#queue = [];
        } else {
          batch = this.#queue.splice(0, batchSize);
        }
        const text = this.#text === null ? undefined : this.#takeText(batch.length);
        if (this.#journal && this.#unjournaled.length > 0) {
          // Before the readings can reach the log: a restart must know what they came from.
          // `append` reads the records before it awaits anything, so the buffer is free at once.
          const written = this.#journal.append(this.#unjournaled.view());
          this.#unjournaled.clear();
          await written;
        } else if (!this.#journal) {
          this.#unjournaled.clear();
        }
        this.#emittedLine += batch.length;
        controller.enqueue(text === undefined ? batch : { readings: batch, text });
        if (this.#ackMode === "taken") this.#ackUpTo(this.#emittedLine);
        wakeSpace();
      },
      cancel: () => {
        this.#closed = true;
        stop();
        void this.#end();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Batches of readings, in arrival order; closes after `signal` aborts and the queue drains.
   * A batch can be empty: one follows every payload with a parse error, so that errors told to
   * `onParseError` can reach the pipeline without waiting for the next reading.
   * @throws {TypeError} with the `lines` option: read {@linkcode MqttSource.batches} then.
   */
  get readable(): ReadableStream<Reading[]> {
    if (this.#text !== null) {
      throw new TypeError("MqttSource with lines: read its batches, not readable");
    }
    return this.#stream as ReadableStream<Reading[]>;
  }

  /**
   * The batches of {@linkcode MqttSource.readable} with their lines (the `lines` option).
   * @throws {TypeError} without the `lines` option: read `readable` then.
   */
  get batches(): ReadableStream<MqttBatch> {
    if (this.#text === null) {
      throw new TypeError("MqttSource without lines: read readable, not its batches");
    }
    return this.#stream as ReadableStream<MqttBatch>;
  }

  /**
   * The lines of the first `count` queued readings, taken out of the queue's text: its whole
   * buffer when they are all of it (the usual batch), else a copy of their part.
   */
  #takeText(count: number): BatchText {
    const text = this.#text!;
    const all = text.bytes();
    let end = all.length;
    if (this.#queue.length > 0) {
      // Lines hold no raw newline (JSON escapes it; `writeReading` writes none).
      end = 0;
      for (let i = 0; i < count; i++) end = all.indexOf(0x0a, end) + 1;
      const rest = this.#spareTexts.pop() ?? new ByteText();
      rest.clear();
      rest.raw(all.subarray(end));
      this.#text = rest;
    } else {
      const next = this.#spareTexts.pop() ?? new ByteText();
      next.clear();
      this.#text = next;
    }
    const spare = this.#spareTexts;
    let released = false;
    return {
      bytes: all.subarray(0, end),
      release: () => {
        if (released) return;
        released = true;
        if (spare.length < SPARE_TEXTS) spare.push(text);
      },
    };
  }

  /**
   * Tells the source that every line below `lines` (counted as `position` counts) is committed:
   * acknowledges the messages whose readings all lie below it, with one write. Only
   * meaningful with `acknowledge: "committed"`.
   */
  commit(lines: number): void {
    if (this.#ackMode !== "committed") return;
    this.#ackUpTo(lines);
  }

  /** Ends the connection after the acknowledgements written so far; call once the run ended. */
  close(): Promise<void> {
    this.#journal?.close();
    this.#journal = null;
    return this.#end();
  }

  #ending: Promise<void> | null = null;

  /** A graceful DISCONNECT after the PUBACKs already written; forced if the broker is not
   * there to answer. */
  #end(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.resolve();
    this.#ending ??= conn.end(); // DISCONNECT after the writes, forced after 2 s
    return this.#ending;
  }

  /** Sends the PUBACKs of every message whose readings end at or below `line`, in one write. */
  #ackUpTo(line: number): void {
    const n = this.#acks.countUpTo(line);
    if (n === 0) return;
    const conn = this.#conn;
    if (!conn?.connected) {
      this.#acks.shift(n, () => {});
      return;
    }
    const bytes = new Uint8Array(4 * n);
    let k = 0;
    this.#acks.shift(n, (id) => {
      writePuback(bytes, k, id);
      k += 4;
    });
    conn.send(bytes);
  }

  /** Connection state now. */
  get status(): MqttSourceStatus {
    return this.#status;
  }

  /**
   * Whether the broker has acknowledged the subscription (on this or an earlier connection).
   * A persistent session's backlog arrives before the SUBACK, which is read only after it: keep
   * reading {@linkcode MqttSource.readable} while waiting for this, or a full queue
   * will hold the SUBACK back for good.
   */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Messages accepted (parsed and acknowledged) so far. */
  get messages(): number {
    return this.#messages;
  }

  /** Readings parsed so far. */
  get readings(): number {
    return this.#readings;
  }

  /** Payload lines refused by the parser so far. */
  get errors(): number {
    return this.#errors;
  }

  /** Reconnect attempts so far. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Readings waiting for the pipeline now. */
  get queued(): number {
    return this.#queue.length;
  }
}
