/**
 * One MQTT 5 connection of a QoS-1 subscriber over Deno's own TCP (`Deno.connect`, or
 * `Deno.connectTls` for `mqtts://`): CONNECT and CONNACK, SUBSCRIBE, PUBLISH handed over as they
 * are parsed, keep-alive, a graceful DISCONNECT. No reconnection: the source opens a new one
 * (with its backoff) after {@linkcode MqttConnectionHandlers.onClose}. The packets are in
 * `mqtt_wire.ts`. It replaced mqtt.js under the MQTT source (`BENCHMARKS.md`, "Live MQTT"): no
 * `node:net` emulation, stream layer or per-packet `nextTick`, the payload read straight from the
 * socket's buffer, and the reads of a busy connection a millisecond apart so that each brings
 * tens of packets instead of two or three.
 * @module
 */
import { abortableSleep } from "../../core/abortable_sleep.ts";
import {
  type Connack,
  type ConnectFields,
  DISCONNECT,
  encodeConnect,
  encodeSubscribe,
  MqttProtocolError,
  type Packet,
  PacketReader,
  PINGREQ,
  type Publish,
  reasonText,
  type Suback,
} from "./mqtt_wire.ts";

/** Where a broker is and how to log in, from `mqtt://[USER[:PASSWORD]@]HOST[:PORT]`. */
export interface BrokerAddress {
  tls: boolean;
  hostname: string;
  port: number;
  username?: string;
  password?: string;
}

/**
 * Parses `mqtt://[USER[:PASSWORD]@]HOST[:PORT]` (or `mqtts://`; user and password %-decoded;
 * `[…]` around an IPv6 address). The port defaults to 1883, 8883 for `mqtts://`.
 * @throws {RangeError} for a URL of another shape or a bad port (naming it).
 *
 * @example
 * ```ts
 * import { parseBroker } from "./mqtt_connection.ts";
 *
 * parseBroker("mqtts://vigil:s3cret@broker.local").port === 8883;
 * ```
 */
export function parseBroker(url: string): BrokerAddress {
  const m = /^(mqtts?):\/\/(?:([^@/]*)@)?(\[[^\]/]+\]|[^:/@[\]]+)(?::([^/]*))?\/?$/.exec(url);
  if (!m) throw new RangeError(`bad MQTT broker ${JSON.stringify(url)}: expected mqtt://HOST:PORT`);
  const tls = m[1] === "mqtts";
  const port = m[4] === undefined || m[4] === "" ? (tls ? 8883 : 1883) : Number(m[4]);
  if (!/^\d*$/.test(m[4] ?? "") || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`bad MQTT broker port ${JSON.stringify(m[4])} in ${JSON.stringify(url)}`);
  }
  const address: BrokerAddress = { tls, hostname: m[3]!.replace(/^\[(.*)\]$/, "$1"), port };
  if (m[2] !== undefined) {
    const colon = m[2].indexOf(":");
    try {
      address.username = decodeURIComponent(colon === -1 ? m[2] : m[2].slice(0, colon));
      if (colon !== -1) address.password = decodeURIComponent(m[2].slice(colon + 1));
    } catch {
      throw new RangeError(`bad MQTT broker ${JSON.stringify(url)}: bad %-escape in its user`);
    }
  }
  return address;
}

/** What a connection tells its owner. */
export interface MqttConnectionHandlers {
  /** The broker accepted the connection (a refusal closes it instead). */
  onConnack(connack: Connack): void;
  /**
   * A message. `false`: no room for it now: the connection keeps it, stops reading the socket
   * (TCP pushes back) and offers it again on {@linkcode MqttConnection.resume}. The object and
   * its payload are only valid during the call (the reader fills the object again).
   */
  onPublish(publish: Publish): boolean;
  /** The broker's answer to {@linkcode MqttConnection.subscribe}. */
  onSuback(suback: Suback): void;
  /** The connection is gone, once: `error` says why, none after {@linkcode MqttConnection.end}. */
  onClose(error?: Error): void;
}

/** Options of {@linkcode MqttConnection} besides CONNECT's fields. */
export interface MqttConnectionOptions {
  /**
   * Pause after a socket read that did not fill the buffer, ms: under load the packets of that
   * time arrive in one read (tens instead of two or three), and each read's wake-up costs more
   * than parsing its packets. 0 reads at once. @default {1}
   */
  coalesceMs?: number;
  /** No CONNACK this long after the connection opened: closed with an error. @default {30000} */
  connackTimeoutMs?: number;
  /** Longest wait of {@linkcode MqttConnection.end} for its writes before it just closes.
   * @default {2000} */
  endTimeoutMs?: number;
}

/**
 * One connection to a broker, opened by {@linkcode MqttConnection.start}. Writes go out in the
 * order given, those queued meanwhile in one write; reads are parsed in place and handed to the
 * handlers as packets.
 *
 * @example
 * ```ts
 * import { MqttConnection, parseBroker } from "./mqtt_connection.ts";
 *
 * const connection = new MqttConnection(
 *   parseBroker("mqtt://127.0.0.1:1883"),
 *   { clientId: "demo", keepalive: 60, cleanStart: true, sessionExpiry: 0, receiveMaximum: 100 },
 *   {
 *     onConnack: () => connection.subscribe("plant/#", 1),
 *     onPublish: (p) => (console.log(p.topic), true),
 *     onSuback: () => {},
 *     onClose: (error) => console.log("closed", error?.message),
 *   },
 * );
 * connection.start();
 * ```
 */
export class MqttConnection {
  readonly #address: BrokerAddress;
  readonly #fields: ConnectFields;
  readonly #handlers: MqttConnectionHandlers;
  readonly #coalesceMs: number;
  readonly #connackTimeoutMs: number;
  readonly #endTimeoutMs: number;
  readonly #reader = new PacketReader();
  #conn: Deno.Conn | null = null;
  #connected = false;
  #closed = false;
  #out: Uint8Array[] = [];
  #writing = false;
  #flushed: Promise<void> = Promise.resolve();
  /** A message the owner had no room for, offered again on resume(). */
  #held: Publish | null = null;
  #resumed: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pinger: ReturnType<typeof setInterval> | undefined;
  #pingDue = false;
  #nextId = 1;

  constructor(
    address: BrokerAddress,
    fields: ConnectFields,
    handlers: MqttConnectionHandlers,
    options: MqttConnectionOptions = {},
  ) {
    this.#address = address;
    this.#fields = fields;
    this.#handlers = handlers;
    this.#coalesceMs = options.coalesceMs ?? 1;
    this.#connackTimeoutMs = options.connackTimeoutMs ?? 30_000;
    this.#endTimeoutMs = options.endTimeoutMs ?? 2000;
  }

  /** Whether the broker accepted the connection and it is still open. */
  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  /** Opens the socket, sends CONNECT and reads until the connection ends. */
  start(): void {
    void this.#run();
  }

  async #run(): Promise<void> {
    const { tls, hostname, port } = this.#address;
    let conn: Deno.Conn;
    try {
      conn = tls
        ? await Deno.connectTls({ hostname, port })
        : await Deno.connect({ hostname, port });
    } catch (e) {
      return this.#close(new Error(`connect to ${hostname}:${port}: ${messageOf(e)}`));
    }
    if (this.#closed) return conn.close();
    this.#conn = conn;
    if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
    const { username, password } = this.#address;
    this.send(encodeConnect({ ...this.#fields, username, password }));
    this.#timer = setTimeout(
      () => this.#close(new Error(`no CONNACK from ${hostname}:${port} in time`)),
      this.#connackTimeoutMs,
    );
    try {
      await this.#readLoop(conn);
    } catch (e) {
      if (!this.#closed) this.#close(e instanceof Error ? e : new Error(messageOf(e)));
    }
  }

  async #readLoop(conn: Deno.Conn): Promise<void> {
    for (;;) {
      const space = this.#reader.space();
      const n = await conn.read(space);
      if (this.#closed) return;
      if (n === null) throw new Error("connection closed by the broker");
      this.#reader.filled(n);
      this.#drain();
      while (this.#held !== null && !this.#closed) {
        await new Promise<void>((r) => this.#resumed = r);
      }
      if (this.#closed) return;
      if (this.#coalesceMs > 0 && n < space.length) await abortableSleep(this.#coalesceMs);
    }
  }

  /** Hands out the packets read, until one has to wait or none is whole. */
  #drain(): void {
    while (!this.#closed) {
      let p: Packet | null = this.#held;
      if (p !== null) this.#held = null;
      else if ((p = this.#reader.next()) === null) return;
      switch (p.type) {
        case "publish":
          if (!this.#connected) throw new MqttProtocolError("MQTT PUBLISH before CONNACK");
          if (!this.#handlers.onPublish(p)) {
            this.#held = p;
            return;
          }
          break;
        case "connack":
          this.#connack(p);
          break;
        case "suback":
          this.#handlers.onSuback(p);
          break;
        case "pingresp":
          this.#pingDue = false;
          break;
        case "disconnect":
          throw new Error(
            `disconnected by the broker: ${reasonText(p.reasonCode)}${
              p.reason ? `: ${p.reason}` : ""
            }`,
          );
      }
    }
  }

  #connack(c: Connack): void {
    clearTimeout(this.#timer);
    if (c.reasonCode >= 0x80) {
      throw new Error(
        `connection refused: ${reasonText(c.reasonCode)}${c.reason ? `: ${c.reason}` : ""}`,
      );
    }
    this.#connected = true;
    // MQTT 5: a Server Keep Alive replaces the client's own.
    const keepalive = c.serverKeepAlive ?? this.#fields.keepalive;
    if (keepalive > 0) {
      this.#pinger = setInterval(() => {
        // No PINGRESP for a whole period: the connection is dead. Not while a message waits
        // for room: the socket is not read then, so the answer cannot have been seen.
        if (this.#pingDue && this.#held === null) {
          return this.#close(new Error(`keepalive timeout (${keepalive} s)`));
        }
        if (!this.#pingDue) this.send(PINGREQ);
        this.#pingDue = true;
      }, keepalive * 1000);
      Deno.unrefTimer(this.#pinger);
    }
    this.#handlers.onConnack(c);
  }

  /** Offers a message that had to wait again, and reads on once it is taken. */
  resume(): void {
    if (this.#held === null || this.#closed) return;
    try {
      this.#drain();
    } catch (e) {
      return this.#close(e instanceof Error ? e : new Error(messageOf(e)));
    }
    if (this.#held === null && this.#resumed) {
      const r = this.#resumed;
      this.#resumed = null;
      r();
    }
  }

  /** Subscribes to `filter` at `qos`; the SUBACK comes to `onSuback` with the returned id. */
  subscribe(filter: string, qos: 0 | 1 | 2): number {
    const id = this.#nextId;
    this.#nextId = id === 65535 ? 1 : id + 1;
    this.send(encodeSubscribe(id, filter, qos));
    return id;
  }

  /** Queues bytes for the socket (dropped once closed); those queued meanwhile go in one write. */
  send(bytes: Uint8Array): void {
    const conn = this.#conn;
    if (this.#closed || conn === null || bytes.length === 0) return;
    this.#out.push(bytes);
    if (!this.#writing) {
      this.#writing = true;
      this.#flushed = this.#flush(conn);
    }
  }

  async #flush(conn: Deno.Conn): Promise<void> {
    try {
      while (this.#out.length > 0) {
        const out = this.#out;
        this.#out = [];
        let chunk = out[0]!;
        if (out.length > 1) {
          chunk = new Uint8Array(out.reduce((n, b) => n + b.length, 0));
          let at = 0;
          for (const b of out) {
            chunk.set(b, at);
            at += b.length;
          }
        }
        for (let off = 0; off < chunk.length;) off += await conn.write(chunk.subarray(off));
      }
    } catch (e) {
      if (!this.#closed) this.#close(new Error(`write to the broker: ${messageOf(e)}`));
    } finally {
      this.#writing = false;
    }
  }

  /**
   * A graceful end: DISCONNECT after everything already sent (the PUBACKs), then the socket
   * closes; after `endTimeoutMs` it closes anyway (a broker that is not there to read them).
   */
  async end(): Promise<void> {
    if (this.#closed) return;
    if (this.#conn === null) return this.#close(); // still connecting
    this.send(DISCONNECT);
    let force: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#flushed,
      new Promise<void>((r) => force = setTimeout(r, this.#endTimeoutMs)),
    ]);
    clearTimeout(force);
    this.#close();
  }

  /** Closes at once; `onClose` is told `error`. */
  destroy(error?: Error): void {
    this.#close(error);
  }

  #close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearTimeout(this.#timer);
    clearInterval(this.#pinger);
    this.#held = null;
    this.#out = [];
    try {
      this.#conn?.close();
    } catch {
      // Already closed by the other side.
    }
    const r = this.#resumed;
    this.#resumed = null;
    r?.();
    this.#handlers.onClose(error);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
