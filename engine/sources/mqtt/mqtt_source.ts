/**
 * `--source mqtt://HOST:PORT/TOPIC`: readings from an MQTT broker as a stream of `Reading[]`
 * batches, on a persistent QoS-1 session so that nothing published while the engine or the
 * broker is down is lost.
 *
 * Kept whole past ~400 lines: one class whose persistent session, bounded queue with broker
 * back-pressure and reconnection share the client's state; the parsers are in `formats/`.
 * @module
 */
import type { IPublishPacket, MqttClient } from "mqtt";
import { createLineParser, type LineParser } from "../../formats/reading_parser.ts";
import { machineIdError } from "../../formats/reading_rules.ts";
import type { Reading } from "../../core/types.ts";
import { loadMqtt } from "../../core/load_mqtt.ts";
import { positiveInteger } from "../../core/validate.ts";

/** A payload line the parser refused, with the topic it came on. */
export interface MqttParseError {
  topic: string;
  line: string;
  error: string;
  /** Receive time, epoch ms. */
  time: number;
}

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
  /** Told of every payload line the parser refused (the pipeline logs and counts it). */
  onParseError?: (error: MqttParseError) => void;
  /** Told of every state change; `detail` is the error that caused an `offline`, if any. */
  onStatus?: (status: MqttSourceStatus, detail?: string) => void;
  /** Aborting it disconnects; queued readings are still delivered, then the stream closes. */
  signal?: AbortSignal;
}

/** Splits `mqtt://HOST:PORT/TOPIC` into the broker URL and the topic filter. */
function splitUrl(url: string): { broker: string; topic: string } {
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
  return { broker: `${m[1]}://${m[2]}`, topic };
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

const KV_MACHINE = /(?:^|,)\s*M\s*:/;

/** The part of a Node stream that batches writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
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
 * `reconnectMaxMs`).
 *
 * **Payloads.** One reading per line (a payload may carry several lines), JSON or `kv`; `kv`
 * carries no time, so its event time is the receive time. The machine id comes from the
 * topic level `machineFromTopic` when set, else from the payload's `machine` (`M:` in `kv`),
 * else it is the whole topic.
 *
 * **Backpressure and QoS 1.** A message is acknowledged (PUBACK) once its readings are in the
 * bounded queue (`maxQueued`), which {@linkcode MqttSource.readable} drains into the pipeline
 * as batches. When the queue is full the message handler waits, without parsing or acking:
 * mqtt.js handles one packet at a time, so the client stops reading the socket (TCP pushes
 * back) and the broker, whose window of unacknowledged messages for this client is full
 * (`receiveMaximum`), keeps the rest queued in the session. Nothing is
 * dropped; the broker just holds more. A message that was waiting when the connection
 * dropped is never acked: the broker redelivers it, so none is lost (QoS 1 is at least
 * once: a redelivery can duplicate a reading). What is acked but not yet processed at a crash
 * (at most the queue) is the one window where readings can be lost; a clean stop (`signal`)
 * delivers the queue before closing.
 */
export class MqttSource {
  /**
   * Batches of readings, in arrival order; closes after `signal` aborts and the queue drains.
   * A batch can be empty: one follows every payload with a parse error, so that errors told to
   * `onParseError` can reach the pipeline without waiting for the next reading.
   */
  readonly readable: ReadableStream<Reading[]>;
  /** The client id in use (the broker's session name). */
  readonly clientId: string;
  /** The topic filter subscribed to. */
  readonly topic: string;
  #client: MqttClient | null = null;
  #status: MqttSourceStatus = "connecting";
  #queue: Reading[] = [];
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
  /** Message handlers waiting for room in the queue. */
  #spaceWaiters: (() => void)[] = [];
  /** The pull waiting for readings, if any. */
  #dataWaiter: (() => void) | null = null;

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
    const minMs = options.reconnectMinMs ?? 500;
    const maxMs = options.reconnectMaxMs ?? 30_000;
    if (!(minMs > 0) || !(maxMs >= minMs)) {
      throw new RangeError(`reconnect delays must be 0 < min <= max, got ${minMs} and ${maxMs}`);
    }
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
    const parserOptions = { now: () => now, maxLineLength: options.maxLineLength };
    const json = createLineParser("json", parserOptions);
    const kv = createLineParser("kv", { ...parserOptions, deviceKeys: options.deviceKeys });
    const decoder = new TextDecoder();
    const status = (s: MqttSourceStatus, detail?: string) => {
      if (this.#status === s && detail === undefined) return;
      this.#status = s;
      options.onStatus?.(s, detail);
    };

    const refuse = (t: string, line: string, error: string) => {
      this.#errors++;
      options.onParseError?.({ topic: t, line, error, time: now });
      this.#wake = true;
    };
    const ingestLine = (t: string, line: string, parser: LineParser, isJson: boolean) => {
      const r = parser.parse(line);
      if (r === null) return;
      if (typeof r === "string") return refuse(t, line, r);
      if (level !== null) {
        const id = t.split("/")[level];
        if (id) r.machine = id;
      } else if (!(isJson ? line.includes('"machine"') : KV_MACHINE.test(line))) {
        // The parsers default to `m1`; a payload naming no machine is named by its topic.
        r.machine = t;
      }
      // An id from the topic obeys the payload's rules (docs/input-formats.md).
      const badId = machineIdError(r.machine);
      if (badId !== null) return refuse(t, line, badId);
      this.#queue.push(r);
      this.#readings++;
    };

    const ingest = (packet: IPublishPacket) => {
      now = Date.now();
      this.#messages++;
      const t = packet.topic;
      const text = typeof packet.payload === "string"
        ? packet.payload
        : decoder.decode(packet.payload);
      const before = this.#queue.length;
      let start = 0;
      while (start <= text.length) {
        let end = text.indexOf("\n", start);
        if (end === -1) end = text.length;
        const line = text.slice(start, end);
        start = end + 1;
        let first = line.charCodeAt(0);
        if (first === 32 || first === 9) first = line.trimStart().charCodeAt(0);
        const isJson = format === "json" || (format === "auto" && first === 123 /* { */);
        ingestLine(t, line, isJson ? json : kv, isJson);
      }
      if ((this.#queue.length > before || this.#wake) && this.#dataWaiter) {
        const w = this.#dataWaiter;
        this.#dataWaiter = null;
        w();
      }
    };

    // The PUBACKs of all the messages handled in one turn of the event loop go out in one
    // write: one syscall per PUBACK was half the CPU time of ingest. They wait at most that
    // turn, and the broker's window of unacknowledged messages (Receive Maximum) is large.
    let corked: Corkable | null = null;
    const cork = () => {
      const stream = this.#client?.stream as unknown as Corkable | undefined;
      if (!stream || corked === stream) return;
      corked = stream;
      stream.cork();
      setTimeout(() => {
        if (corked === stream) corked = null;
        stream.uncork();
      }, 0);
    };

    const handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const generation = this.#generation;
      const accept = () => {
        // Stopped, or the connection this came on is gone: not acked, so the broker keeps it
        // (and redelivers it on the next connection of this session).
        if (this.#stopped || generation !== this.#generation) return;
        ingest(packet);
        cork();
        done(); // writes the PUBACK (QoS 1) and lets mqtt.js handle the next packet
      };
      if (this.#queue.length < maxQueued) accept();
      else this.#spaceWaiters.push(accept);
    };

    const wakeSpace = () => {
      while (this.#spaceWaiters.length > 0 && this.#queue.length < maxQueued) {
        this.#spaceWaiters.shift()!();
      }
    };

    const stop = () => {
      if (this.#stopped) return;
      this.#stopped = true;
      const waiters = this.#spaceWaiters;
      this.#spaceWaiters = [];
      for (const w of waiters) w(); // each sees #stopped and leaves its message unacked
      clearTimeout(this.#retry);
      this.#retry = undefined;
      const client = this.#client;
      if (client) {
        // A graceful DISCONNECT after the PUBACKs already written; forced if the broker is
        // not there to answer.
        const force = setTimeout(() => client.end(true), 2000);
        client.end(false, () => clearTimeout(force));
      }
      status("closed");
      if (this.#dataWaiter) {
        const w = this.#dataWaiter;
        this.#dataWaiter = null;
        w();
      }
    };

    this.readable = new ReadableStream<Reading[]>({
      start: async (controller) => {
        if (options.signal?.aborted) {
          this.#stopped = true;
          this.#status = "closed";
          this.#closed = true;
          controller.close();
          return;
        }
        options.signal?.addEventListener("abort", stop, { once: true });
        const mqtt = await loadMqtt();
        if (this.#stopped) return; // aborted meanwhile: pull() closes the stream
        let delay = minMs;
        const client = mqtt.connect(broker, {
          clientId: this.clientId,
          clean: false,
          // Reconnection is ours (below): mqtt.js retries at one fixed period only.
          reconnectPeriod: 0,
          resubscribe: true,
          protocolVersion: 5,
          log: () => {}, // mqtt.js calls `debug` per packet otherwise: ~8 % of ingest CPU
          properties: {
            // MQTT 5: without it the broker would end the session at the first disconnect.
            sessionExpiryInterval: 0xffffffff,
            receiveMaximum,
          },
        });
        this.#client = client;
        client.handleMessage = handleMessage;
        let subscribed = false;
        client.on("connect", () => {
          delay = minMs;
          status("connected");
          // Once subscribed, mqtt.js (`resubscribe`) renews the subscription itself whenever
          // the broker reports no session; with a session present the broker kept it.
          if (!subscribed) subscribe();
        });
        client.on("close", () => {
          this.#generation++;
          // A waiting handler of the lost connection will never ack: let it go.
          const waiters = this.#spaceWaiters;
          this.#spaceWaiters = [];
          for (const w of waiters) w();
          if (this.#stopped || this.#retry !== undefined) return;
          status("offline");
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            if (this.#stopped) return;
            this.#reconnects++;
            status("connecting");
            client.reconnect();
          }, delay);
          delay = Math.min(delay * 2, maxMs);
        });
        client.on("error", (e) => {
          if (!this.#stopped) status("offline", e.message);
        });
        const subscribe = () => {
          client.subscribe(topic, { qos: 1 }, (err, granted) => {
            if (this.#stopped) return;
            const g = granted?.[0];
            if (!err && g && g.qos !== 128) {
              subscribed = true;
              this.#subscribed = true;
            } else if (!err) {
              // Refused (e.g. by an ACL): no reading will ever come, so say so and stop.
              this.#closed = true;
              controller.error(
                new Error(`MQTT subscribe to ${JSON.stringify(topic)}: refused by the broker`),
              );
              stop();
            } else {
              // The connection went before the SUBACK: subscribed again on the next connect.
              status("offline", `subscribe to ${JSON.stringify(topic)}: ${err.message}`);
            }
          });
        };
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
        this.#wake = false;
        let batch: Reading[];
        if (this.#queue.length <= batchSize) {
          batch = this.#queue;
          this.#queue = [];
        } else {
          batch = this.#queue.splice(0, batchSize);
        }
        controller.enqueue(batch);
        wakeSpace();
      },
      cancel: () => {
        this.#closed = true;
        stop();
      },
    }, { highWaterMark: 0 });
  }

  /** Connection state now. */
  get status(): MqttSourceStatus {
    return this.#status;
  }

  /**
   * Whether the broker has acknowledged the subscription (on this or an earlier connection).
   * A persistent session's backlog arrives before the SUBACK, which mqtt.js handles only after
   * it: keep reading {@linkcode MqttSource.readable} while waiting for this, or a full queue
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
