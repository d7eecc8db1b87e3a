/**
 * Publishes the pipeline's anomaly events and processed rows to an MQTT broker, one topic per
 * machine (`vigil/<machine>/anomalies`, `vigil/<machine>/rows`).
 * @module
 */
import type { MqttClient } from "mqtt";
import type { Sink } from "../sink.ts";
import { rowToObject } from "../../formats/row_format.ts";
import type { AnomalyEvent, ProcessedRow } from "../../core/types.ts";
import { loadMqtt } from "../../core/load_mqtt.ts";

/** Options of {@linkcode MqttPublisher}. */
export interface MqttPublisherOptions {
  /** The broker, `mqtt://HOST:PORT` (or `mqtts://`); a path is ignored. */
  url: string;
  /** Topic of anomaly events; `{machine}` is replaced by the machine id; `null`: none.
   * @default {"vigil/{machine}/anomalies"} */
  anomalyTopic?: string | null;
  /** Topic of processed rows (as `/data` serves them); `null`: none.
   * @default {"vigil/{machine}/rows"} */
  rowTopic?: string | null;
  /** QoS of every publish. @default {1} */
  qos?: 0 | 1;
  /**
   * Messages handed to the client and not yet acknowledged by the broker (or, at QoS 0,
   * written), at most; one more is dropped and counted. A positive integer.
   * @default {10000}
   */
  maxPending?: number;
  /** @default {a random mqtt.js id} */
  clientId?: string;
  /** First delay before reconnecting, ms (mqtt.js retries at this interval). @default {1000} */
  reconnectMs?: number;
  /** Told of connection errors (the client keeps retrying). */
  onError?: (error: Error) => void;
}

function checkTemplate(name: string, t: string | null): string | null {
  if (t === null) return null;
  if (t === "" || t.includes("+") || t.includes("#")) {
    throw new RangeError(
      `${name} must be a topic without wildcards, e.g. "vigil/{machine}/anomalies", got ${
        JSON.stringify(t)
      }`,
    );
  }
  return t;
}

/** A machine id as one topic level: `/`, `+` and `#` would add levels or be wildcards. */
function level(machine: string): string {
  return /[/+#]/.test(machine) ? machine.replace(/[/+#]/g, "_") : machine;
}

/**
 * A {@linkcode Sink} that publishes each anomaly event (the contract's JSON) and
 * each processed row (`rowToObject`, as `/data` serves it) at QoS 1 by default.
 *
 * The pipeline never waits for the broker: each call hands the message to mqtt.js and returns.
 * mqtt.js keeps QoS-1 messages until the broker acknowledges them, including while it is
 * disconnected (they are sent on reconnect), so the messages not yet acknowledged are bounded
 * by `maxPending`: beyond it a message is dropped and counted in
 * {@linkcode MqttPublisher.dropped}, rather than letting a broker outage grow memory without
 * limit. A machine id's `/`, `+` and `#` become `_` in topics.
 */
export class MqttPublisher implements Sink {
  #client: MqttClient | null = null;
  /** Messages published before mqtt.js finished loading; they count as pending. */
  #early: { topic: string; text: string }[] = [];
  /** Settles once the client exists (or mqtt.js failed to load). */
  readonly #ready: Promise<void>;
  readonly #anomalyTopic: string | null;
  readonly #rowTopic: string | null;
  readonly #qos: 0 | 1;
  readonly #maxPending: number;
  #pending = 0;
  #published = 0;
  #dropped = 0;
  #closed = false;

  /** @throws {RangeError} for a bad URL, topic template or option (naming the value). */
  constructor(options: MqttPublisherOptions) {
    const m = /^(mqtts?:\/\/[^/?#]+)/.exec(options.url);
    if (!m) {
      throw new RangeError(
        `bad MQTT broker ${JSON.stringify(options.url)}: expected mqtt://HOST:PORT`,
      );
    }
    this.#anomalyTopic = checkTemplate(
      "anomalyTopic",
      options.anomalyTopic === undefined ? "vigil/{machine}/anomalies" : options.anomalyTopic,
    );
    this.#rowTopic = checkTemplate(
      "rowTopic",
      options.rowTopic === undefined ? "vigil/{machine}/rows" : options.rowTopic,
    );
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) throw new RangeError(`qos must be 0 or 1, got ${qos}`);
    this.#qos = qos;
    const maxPending = options.maxPending ?? 10_000;
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    }
    this.#maxPending = maxPending;
    const reconnectMs = options.reconnectMs ?? 1000;
    if (!(reconnectMs > 0)) throw new RangeError(`reconnectMs must be > 0, got ${reconnectMs}`);
    this.#ready = loadMqtt().then((mqtt) => {
      if (this.#closed) return;
      const client = mqtt.connect(m[1]!, {
        clientId: options.clientId,
        reconnectPeriod: reconnectMs,
        // QoS-0 messages are not kept while offline: the bound is for what we promised to
        // deliver.
        queueQoSZero: false,
      });
      // Without a listener an 'error' event would throw; the client keeps reconnecting anyway.
      client.on("error", (e) => options.onError?.(e));
      this.#client = client;
      const early = this.#early;
      this.#early = [];
      for (const { topic, text } of early) this.#send(topic, text);
    }, (e) => {
      // Nothing will ever be published: count what waited as dropped, and say why.
      this.#dropped += this.#early.length;
      this.#pending -= this.#early.length;
      this.#early = [];
      this.#closed = true;
      options.onError?.(e);
    });
  }

  /** Messages acknowledged by the broker (QoS 1) or written (QoS 0) so far. */
  get published(): number {
    return this.#published;
  }

  /** Messages dropped so far because `maxPending` were waiting. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages handed to the client and not yet acknowledged now. */
  get pending(): number {
    return this.#pending;
  }

  /** Whether the client is connected to the broker now. */
  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Publishes the event to the anomaly topic of its machine. Never throws. */
  anomaly(event: AnomalyEvent): void {
    if (this.#anomalyTopic === null) return;
    this.#publish(this.#anomalyTopic, event.machine, () => JSON.stringify(event));
  }

  /** Publishes the row (as `/data` serves it) to the row topic of its machine. Never throws. */
  row(row: ProcessedRow): void {
    if (this.#rowTopic === null) return;
    this.#publish(this.#rowTopic, row.machine, () => JSON.stringify(rowToObject(row)));
  }

  /**
   * Waits up to `timeoutMs` for pending messages to be acknowledged, then disconnects. Later
   * listener calls are no-ops. Idempotent.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.#closed) return;
    await this.#ready;
    this.#closed = true;
    const client = this.#client;
    if (!client) return;
    const until = Date.now() + timeoutMs;
    while (this.#pending > 0 && client.connected && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => client.end(true, () => resolve()), 500);
      client.end(false, () => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  #publish(template: string, machine: string, payload: () => string): void {
    if (this.#closed) return;
    if (this.#pending >= this.#maxPending) {
      this.#dropped++;
      return;
    }
    let text: string;
    try {
      text = payload();
    } catch {
      return; // unserialisable (never expected): skip it rather than throw at the pipeline
    }
    const topic = template.replaceAll("{machine}", level(machine));
    this.#pending++;
    if (this.#client) this.#send(topic, text);
    else this.#early.push({ topic, text });
  }

  /** Hands one counted-as-pending message to the client. */
  #send(topic: string, text: string): void {
    this.#client!.publish(topic, text, { qos: this.#qos }, (err) => {
      this.#pending--;
      if (err) this.#dropped++;
      else this.#published++;
    });
  }
}
