/**
 * The MQTT 5 packets a QoS-1 subscriber needs, encoded and decoded as bytes (OASIS MQTT Version
 * 5.0, §3): CONNECT, SUBSCRIBE, PUBACK, PINGREQ and DISCONNECT out; CONNACK, PUBLISH, SUBACK,
 * PINGRESP and DISCONNECT in. Pure functions and one incremental reader, no I/O: the connection
 * (`mqtt_connection.ts`) owns the socket.
 *
 * Past ~400 lines: the standard's reason codes and property sizes are tables here, beside the
 * decoders that use them.
 * @module
 */

/** A malformed or unexpected packet from the broker: the connection cannot go on. */
export class MqttProtocolError extends Error {
  override name = "MqttProtocolError";
}

/** PINGREQ (§3.12): type 12, no remaining bytes. */
export const PINGREQ: Uint8Array = new Uint8Array([0xc0, 0x00]);

/** DISCONNECT (§3.14) with reason 0 (normal disconnection) and no properties: 2 bytes. */
export const DISCONNECT: Uint8Array = new Uint8Array([0xe0, 0x00]);

/** What CONNECT carries. */
export interface ConnectFields {
  clientId: string;
  /** Seconds; 0 turns keep-alive off. */
  keepalive: number;
  /** Clean Start: false resumes the session named by `clientId`. */
  cleanStart: boolean;
  /** Session Expiry Interval, seconds (0xFFFFFFFF: never). */
  sessionExpiry: number;
  /** Receive Maximum: QoS-1 messages the broker may have unacknowledged, 1…65535. */
  receiveMaximum: number;
  username?: string;
  password?: string;
}

const encoder = new TextEncoder();

/** Bytes of a Variable Byte Integer (§1.5.5) for `n`, 0…268,435,455. */
function varIntBytes(n: number): number[] {
  if (!(n >= 0 && n <= 268_435_455)) throw new RangeError(`MQTT length out of range: ${n}`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A UTF-8 string or binary field: 2-byte length, then the bytes. */
function field(bytes: Uint8Array): number[] {
  if (bytes.length > 65535) throw new RangeError(`MQTT field longer than 65535 bytes`);
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** A packet from its first byte and its variable header and payload. */
function packet(first: number, body: number[]): Uint8Array {
  return new Uint8Array([first, ...varIntBytes(body.length), ...body]);
}

/**
 * CONNECT (§3.1) for MQTT 5 with the Session Expiry Interval and Receive Maximum properties.
 *
 * @example
 * ```ts
 * import { encodeConnect } from "./mqtt_wire.ts";
 *
 * const bytes = encodeConnect({
 *   clientId: "vigil-1",
 *   keepalive: 60,
 *   cleanStart: false,
 *   sessionExpiry: 0xffffffff,
 *   receiveMaximum: 1000,
 * });
 * bytes[0] === 0x10;
 * ```
 */
export function encodeConnect(c: ConnectFields): Uint8Array {
  let flags = c.cleanStart ? 0x02 : 0;
  if (c.username !== undefined) flags |= 0x80;
  if (c.password !== undefined) flags |= 0x40;
  const s = c.sessionExpiry >>> 0;
  const properties = [
    0x11, // Session Expiry Interval, four bytes
    s >>> 24,
    (s >>> 16) & 0xff,
    (s >>> 8) & 0xff,
    s & 0xff,
    0x21, // Receive Maximum, two bytes
    c.receiveMaximum >> 8,
    c.receiveMaximum & 0xff,
  ];
  const body = [
    ...field(encoder.encode("MQTT")),
    5, // protocol version
    flags,
    c.keepalive >> 8,
    c.keepalive & 0xff,
    ...varIntBytes(properties.length),
    ...properties,
    ...field(encoder.encode(c.clientId)),
  ];
  if (c.username !== undefined) body.push(...field(encoder.encode(c.username)));
  if (c.password !== undefined) body.push(...field(encoder.encode(c.password)));
  return packet(0x10, body);
}

/**
 * SUBSCRIBE (§3.8) of one topic filter at `qos`, no properties.
 *
 * @example
 * ```ts
 * import { encodeSubscribe } from "./mqtt_wire.ts";
 *
 * encodeSubscribe(1, "plant/+/telemetry", 1)[0] === 0x82;
 * ```
 */
export function encodeSubscribe(id: number, filter: string, qos: 0 | 1 | 2): Uint8Array {
  return packet(0x82, [id >> 8, id & 0xff, 0, ...field(encoder.encode(filter)), qos]);
}

/**
 * Writes a 4-byte PUBACK (§3.4) of packet `id` at `offset`: reason code 0 (success) and no
 * properties may be left out (§3.4.2.1).
 *
 * @example
 * ```ts
 * import { writePuback } from "./mqtt_wire.ts";
 *
 * const bytes = new Uint8Array(8);
 * writePuback(bytes, 0, 1);
 * writePuback(bytes, 4, 258); // two PUBACKs, one write
 * ```
 */
export function writePuback(bytes: Uint8Array, offset: number, id: number): void {
  bytes[offset] = 0x40;
  bytes[offset + 1] = 2;
  bytes[offset + 2] = id >> 8;
  bytes[offset + 3] = id & 0xff;
}

/** CONNACK (§3.2). */
export interface Connack {
  type: "connack";
  sessionPresent: boolean;
  /** 0: accepted; 0x80 and above: refused (the broker closes the connection). */
  reasonCode: number;
  /** Server Keep Alive, seconds, when the broker sets one (the client must use it). */
  serverKeepAlive?: number;
  /** Reason String, when given. */
  reason?: string;
}

/** PUBLISH (§3.3). `payload` is a view into the reader's buffer: valid until its next fill. */
export interface Publish {
  type: "publish";
  topic: string;
  /** Packet identifier; 0 at QoS 0. */
  id: number;
  qos: number;
  dup: boolean;
  retain: boolean;
  /** The payload is `bytes[payloadStart, payloadEnd)`: a reader that can, reads it there. */
  bytes: Uint8Array;
  payloadStart: number;
  payloadEnd: number;
  /** The payload, as a view made when asked for. */
  readonly payload: Uint8Array;
}

/**
 * The {@linkcode Publish} a {@linkcode PacketReader} hands out, one object filled again for each
 * PUBLISH (valid, like its bytes, until the next {@linkcode PacketReader.next}): an object and a
 * payload view per message were about a sixth of a live engine's garbage (BENCHMARKS.md,
 * "The live MQTT path's JavaScript and garbage").
 */
class PublishPacket implements Publish {
  readonly type = "publish";
  topic = "";
  id = 0;
  qos = 0;
  dup = false;
  retain = false;
  bytes: Uint8Array = new Uint8Array(0);
  payloadStart = 0;
  payloadEnd = 0;

  get payload(): Uint8Array {
    return this.bytes.subarray(this.payloadStart, this.payloadEnd);
  }
}

/** SUBACK (§3.9): one reason code per filter (0…2: granted QoS; 0x80 and above: refused). */
export interface Suback {
  type: "suback";
  id: number;
  reasonCodes: number[];
  reason?: string;
}

/** DISCONNECT from the broker (§3.14). */
export interface Disconnect {
  type: "disconnect";
  reasonCode: number;
  reason?: string;
}

/** A packet from the broker this subscriber knows. */
export type Packet = Connack | Publish | Suback | Disconnect | { type: "pingresp" };

/** Reason code names (§2.4) the broker may send in CONNACK, SUBACK and DISCONNECT. */
const REASONS: Record<number, string> = {
  0x04: "Disconnect with Will Message",
  0x80: "Unspecified error",
  0x81: "Malformed Packet",
  0x82: "Protocol Error",
  0x83: "Implementation specific error",
  0x84: "Unsupported Protocol Version",
  0x85: "Client Identifier not valid",
  0x86: "Bad User Name or Password",
  0x87: "Not authorized",
  0x88: "Server unavailable",
  0x89: "Server busy",
  0x8a: "Banned",
  0x8b: "Server shutting down",
  0x8c: "Bad authentication method",
  0x8d: "Keep Alive timeout",
  0x8e: "Session taken over",
  0x8f: "Topic Filter invalid",
  0x90: "Topic Name invalid",
  0x91: "Packet Identifier in use",
  0x92: "Packet Identifier not found",
  0x93: "Receive Maximum exceeded",
  0x94: "Topic Alias invalid",
  0x95: "Packet too large",
  0x97: "Quota exceeded",
  0x98: "Administrative action",
  0x99: "Payload format invalid",
  0x9a: "Retain not supported",
  0x9b: "QoS not supported",
  0x9c: "Use another server",
  0x9d: "Server moved",
  0x9e: "Shared Subscriptions not supported",
  0x9f: "Connection rate exceeded",
  0xa0: "Maximum connect time",
  0xa1: "Subscription Identifiers not supported",
  0xa2: "Wildcard Subscriptions not supported",
};

/**
 * A reason code's name from the spec, with the code in hex.
 *
 * @example
 * ```ts
 * import { reasonText } from "./mqtt_wire.ts";
 *
 * reasonText(0x87) === "Not authorized (0x87)";
 * ```
 */
export function reasonText(code: number): string {
  return `${REASONS[code] ?? "reason"} (0x${code.toString(16).padStart(2, "0")})`;
}

/** Property identifier → its value's size: a byte count, or -1 string/binary, -2 string pair,
 * -3 variable byte integer (§2.2.2.2). */
const PROPERTY_SIZE: Record<number, number> = {
  0x01: 1,
  0x02: 4,
  0x03: -1,
  0x08: -1,
  0x09: -1,
  0x0b: -3,
  0x11: 4,
  0x12: -1,
  0x13: 2,
  0x15: -1,
  0x16: -1,
  0x17: 1,
  0x18: 4,
  0x19: 1,
  0x1a: -1,
  0x1c: -1,
  0x1f: -1,
  0x21: 2,
  0x22: 2,
  0x23: 2,
  0x24: 1,
  0x25: 1,
  0x26: -2,
  0x27: 4,
  0x28: 1,
  0x29: 1,
  0x2a: 1,
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads packets out of the bytes a socket delivers, zero-copy: the socket reads into
 * {@linkcode PacketReader.space}, {@linkcode PacketReader.filled} says how much came, and
 * {@linkcode PacketReader.next} hands out whole packets until it needs more bytes. The buffer
 * starts at `initial` bytes and grows only to hold one packet longer than it (MQTT caps a packet
 * at 256 MiB; the broker's own limit, mosquitto's `message_size_limit`, is what bounds it).
 *
 * @example
 * ```ts
 * import { PacketReader } from "./mqtt_wire.ts";
 *
 * const reader = new PacketReader();
 * const bytes = [0xd0, 0x00]; // PINGRESP
 * reader.space().set(bytes);
 * reader.filled(bytes.length);
 * reader.next()?.type === "pingresp";
 * ```
 */
export class PacketReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  readonly #publish = new PublishPacket();

  constructor(initial = 65536) {
    this.#buf = new Uint8Array(initial);
  }

  /** Where the socket may write next (at least 4 KiB). Invalidates earlier payload views. */
  space(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const need = this.#pendingLength();
    const old = this.#buf;
    if (old.length - this.#end >= 4096 && this.#start + need <= old.length) {
      return old.subarray(this.#end);
    }
    // Near the end, or the packet under way does not fit: its bytes to the front, in a larger
    // buffer when it or the free room needs one.
    const size = this.#end - this.#start;
    if (Math.max(need, size) + 4096 > old.length) {
      this.#buf = new Uint8Array(Math.max(old.length * 2, need + 4096));
      this.#buf.set(old.subarray(this.#start, this.#end));
    } else old.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = size;
    return this.#buf.subarray(this.#end);
  }

  /** `n` bytes were written into the last {@linkcode PacketReader.space}. */
  filled(n: number): void {
    this.#end += n;
  }

  /** Bytes received and not yet handed out as packets. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** The whole length of the packet at the start, when its header is in; else 0. */
  #pendingLength(): number {
    const buf = this.#buf;
    let len = 0;
    let mul = 1;
    for (let i = this.#start + 1; i < this.#end && i < this.#start + 5; i++) {
      const b = buf[i]!;
      len += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return 1 + (i - this.#start) + len;
      mul *= 128;
    }
    return 0;
  }

  /**
   * The next whole packet, or null until more bytes come. Packet types a subscriber never gets
   * are skipped when harmless (PUBACK, AUTH), and a protocol error otherwise. A PUBLISH is one
   * object, filled again by each call (see `PublishPacket`).
   * @throws {MqttProtocolError} for a malformed packet (naming what is wrong).
   */
  next(): Packet | null {
    for (;;) {
      const buf = this.#buf;
      const s = this.#start;
      const end = this.#end;
      if (end - s < 2) return null;
      let len = 0;
      let mul = 1;
      let i = s + 1;
      for (;;) {
        if (i >= end) return null;
        const b = buf[i++]!;
        len += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) break;
        if (i - s > 4) throw new MqttProtocolError("MQTT remaining length longer than 4 bytes");
        mul *= 128;
      }
      if (end - i < len) return null;
      const first = buf[s]!;
      const stop = i + len;
      this.#start = stop;
      const type = first >> 4;
      if (type === 3) return decodePublish(this.#publish, buf, first, i, stop);
      const p = decodeOther(buf, type, i, stop);
      if (p) return p;
    }
  }
}

/** Fills `p` with the PUBLISH at `buf[i, stop)` (its fixed header's first byte `first`). */
function decodePublish(
  p: PublishPacket,
  buf: Uint8Array,
  first: number,
  i: number,
  stop: number,
): Publish {
  const qos = (first >> 1) & 3;
  if (qos === 3) throw new MqttProtocolError("MQTT PUBLISH with QoS 3");
  if (stop - i < 2) throw new MqttProtocolError("MQTT PUBLISH too short for its topic");
  const tlen = (buf[i]! << 8) | buf[i + 1]!;
  i += 2;
  if (i + tlen > stop) throw new MqttProtocolError("MQTT PUBLISH topic past the packet's end");
  const topic = topicText(buf, i, i + tlen);
  i += tlen;
  let id = 0;
  if (qos > 0) {
    if (i + 2 > stop) throw new MqttProtocolError("MQTT PUBLISH too short for its packet id");
    id = (buf[i]! << 8) | buf[i + 1]!;
    i += 2;
  }
  const [plen, at] = varInt(buf, i, stop);
  i = at + plen;
  if (i > stop) throw new MqttProtocolError("MQTT PUBLISH properties past the packet's end");
  p.topic = topic;
  p.id = id;
  p.qos = qos;
  p.dup = (first & 0x08) !== 0;
  p.retain = (first & 0x01) !== 0;
  p.bytes = buf;
  p.payloadStart = i;
  p.payloadEnd = stop;
  return p;
}

function decodeOther(buf: Uint8Array, type: number, i: number, stop: number): Packet | null {
  switch (type) {
    case 2: { // CONNACK
      if (stop - i < 2) throw new MqttProtocolError("MQTT CONNACK shorter than 2 bytes");
      const p: Connack = {
        type: "connack",
        sessionPresent: (buf[i]! & 1) === 1,
        reasonCode: buf[i + 1]!,
      };
      properties(buf, i + 2, stop, (id, at) => {
        if (id === 0x13) p.serverKeepAlive = (buf[at]! << 8) | buf[at + 1]!;
        if (id === 0x1f) p.reason = string(buf, at);
      });
      return p;
    }
    case 9: { // SUBACK
      if (stop - i < 2) throw new MqttProtocolError("MQTT SUBACK shorter than 2 bytes");
      const p: Suback = { type: "suback", id: (buf[i]! << 8) | buf[i + 1]!, reasonCodes: [] };
      const at = properties(buf, i + 2, stop, (id, at) => {
        if (id === 0x1f) p.reason = string(buf, at);
      });
      for (let k = at; k < stop; k++) p.reasonCodes.push(buf[k]!);
      return p;
    }
    case 13: // PINGRESP
      return { type: "pingresp" };
    case 14: { // DISCONNECT
      const p: Disconnect = { type: "disconnect", reasonCode: stop > i ? buf[i]! : 0 };
      if (stop - i > 1) {
        properties(buf, i + 1, stop, (id, at) => {
          if (id === 0x1f) p.reason = string(buf, at);
        });
      }
      return p;
    }
    case 4: // PUBACK: of nothing this client published
    case 15: // AUTH: only after an authentication method this client never sends
      return null;
    default:
      throw new MqttProtocolError(`unexpected MQTT packet type ${type} from the broker`);
  }
}

/** A Variable Byte Integer at `i`: its value and the index after it. */
function varInt(buf: Uint8Array, i: number, stop: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (let k = 0; k < 4; k++) {
    if (i >= stop) throw new MqttProtocolError("MQTT variable byte integer past the packet's end");
    const b = buf[i++]!;
    n += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [n, i];
    mul *= 128;
  }
  throw new MqttProtocolError("MQTT variable byte integer longer than 4 bytes");
}

/** Walks a property block at `i`, telling `each` every property's id and value index; returns
 * the index after the block. */
function properties(
  buf: Uint8Array,
  i: number,
  stop: number,
  each: (id: number, at: number) => void,
): number {
  if (i >= stop) return i; // MQTT 5 lets a packet end before its properties when there are none
  const [len, start] = varInt(buf, i, stop);
  const end = start + len;
  if (end > stop) throw new MqttProtocolError("MQTT properties past the packet's end");
  for (let k = start; k < end;) {
    const id = buf[k++]!;
    const size = PROPERTY_SIZE[id];
    if (size === undefined) {
      throw new MqttProtocolError(`unknown MQTT property 0x${id.toString(16)}`);
    }
    if (k + Math.max(size, 0) > end) throw new MqttProtocolError("MQTT property past its block");
    each(id, k);
    if (size > 0) k += size;
    else if (size === -3) k = varInt(buf, k, end)[1];
    else {
      for (let n = size === -2 ? 2 : 1; n > 0; n--) {
        if (k + 2 > end) throw new MqttProtocolError("MQTT property past its block");
        k += 2 + ((buf[k]! << 8) | buf[k + 1]!);
      }
    }
    if (k > end) throw new MqttProtocolError("MQTT property past its block");
  }
  return end;
}

/** A length-prefixed UTF-8 string at `i`. */
function string(buf: Uint8Array, i: number): string {
  return text(buf, i + 2, i + 2 + ((buf[i]! << 8) | buf[i + 1]!));
}

/** Slots of the topic cache (a power of two), in pairs: with 1,024 single slots, 62 % of a
 * plant's 1,000 topics shared one with another and pushed each other out on every message. */
const TOPIC_SLOTS = 4096;
const topicHashes = new Int32Array(TOPIC_SLOTS);
const topicStrings: string[] = new Array<string>(TOPIC_SLOTS).fill("");

/** Whether the topic in `slot` is `buf[from, to)` (of hash `h`). */
function topicIn(slot: number, h: number, buf: Uint8Array, from: number, to: number): boolean {
  const cached = topicStrings[slot]!;
  const n = to - from;
  if (topicHashes[slot] !== h || cached.length !== n) return false;
  let k = 0;
  while (k < n && cached.charCodeAt(k) === buf[from + k]) k++;
  return k === n;
}

/**
 * A PUBLISH's topic, bytes `[from, to)`, as {@linkcode text} decodes it; an ASCII topic of up to
 * 64 bytes is found in a cache of {@linkcode TOPIC_SLOTS} by its bytes' hash (and checked byte
 * for byte), so that the same topic on every message is one string, not a new one each time:
 * decoding it was about 1 % of a live reading's CPU, and later work keyed by it (the machine
 * id from a topic level) can be cached by it. A hash picks a pair of slots, which keeps the two
 * topics last used there (the one used before goes to the pair's second slot).
 */
function topicText(buf: Uint8Array, from: number, to: number): string {
  if (to - from > 64) return text(buf, from, to);
  let h = 0x811c9dc5;
  let high = 0;
  for (let k = from; k < to; k++) {
    const c = buf[k]!;
    high |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  if (high >= 0x80) return text(buf, from, to);
  const first = (h ^ (h >>> 16)) & (TOPIC_SLOTS - 2);
  if (topicIn(first, h, buf, from, to)) return topicStrings[first]!;
  const topic = topicIn(first + 1, h, buf, from, to)
    ? topicStrings[first + 1]!
    : String.fromCharCode.apply(null, buf.subarray(from, to) as unknown as number[]);
  topicHashes[first + 1] = topicHashes[first]!;
  topicStrings[first + 1] = topicStrings[first]!;
  topicHashes[first] = h;
  topicStrings[first] = topic;
  return topic;
}

/** UTF-8 bytes `[from, to)` as a string; ASCII (every topic of most plants) without a decoder
 * call, which costs more than the loop for short strings. */
function text(buf: Uint8Array, from: number, to: number): string {
  if (to - from <= 64) {
    let ascii = true;
    for (let k = from; k < to; k++) {
      if (buf[k]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, buf.subarray(from, to) as unknown as number[]);
    }
  }
  try {
    return utf8.decode(buf.subarray(from, to));
  } catch {
    throw new MqttProtocolError("MQTT string that is not UTF-8");
  }
}
