/**
 * The MQTT 5 packet code of the MQTT source against byte sequences written out from the OASIS
 * MQTT Version 5.0 standard (section numbers in each case), and the broker URL parsing. The
 * exchange with a real broker is in tests/integration/mqtt_test.ts.
 */
import assert from "node:assert/strict";
import {
  DISCONNECT,
  encodeConnect,
  encodeSubscribe,
  MqttProtocolError,
  type Packet,
  PacketReader,
  PINGREQ,
  reasonText,
  writePuback,
} from "../../engine/sources/mqtt/mqtt_wire.ts";
import { parseBroker } from "../../engine/sources/mqtt/mqtt_connection.ts";

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Every packet in `bytes`, fed to a reader in chunks of `chunk` bytes. */
function readAll(bytes: number[], chunk = bytes.length): Packet[] {
  const reader = new PacketReader();
  const out: Packet[] = [];
  for (let at = 0; at < bytes.length;) {
    // As a socket does: at most a chunk, and at most what the space offered holds.
    const space = reader.space();
    const part = bytes.slice(at, at + Math.min(chunk, space.length));
    space.set(part);
    reader.filled(part.length);
    at += part.length;
    for (let p = reader.next(); p !== null; p = reader.next()) {
      // A publish is one object, filled again, and its payload lies in the reader's buffer:
      // copied before the next packet.
      if (p.type === "publish") {
        const { type, topic, id, qos, dup, retain } = p;
        out.push({ type, topic, id, qos, dup, retain, payload: p.payload.slice() } as Packet);
      } else out.push(p);
    }
  }
  assert.equal(reader.buffered, 0, "every byte read as a packet");
  return out;
}

Deno.test("mqtt wire: CONNECT of a persistent session, byte for byte (§3.1)", () => {
  const bytes = encodeConnect({
    clientId: "vigil-1",
    keepalive: 60,
    cleanStart: false,
    sessionExpiry: 0xffffffff,
    receiveMaximum: 1000,
  });
  assert.deepEqual([...bytes], [
    0x10, // CONNECT
    28, // remaining length
    ...[0, 4, ...ascii("MQTT")], // protocol name (§3.1.2.1)
    5, // protocol version
    0x00, // connect flags: clean start 0, no will, no user name or password
    0,
    60, // keep alive
    8, // property length
    0x11,
    0xff,
    0xff,
    0xff,
    0xff, // session expiry interval (§3.1.2.11.2)
    0x21,
    0x03,
    0xe8, // receive maximum 1000 (§3.1.2.11.3)
    ...[0, 7, ...ascii("vigil-1")], // client identifier (§3.1.3.1)
  ]);
});

Deno.test("mqtt wire: CONNECT with user name and password, clean start (§3.1.2.8, §3.1.3.5)", () => {
  const bytes = encodeConnect({
    clientId: "c",
    keepalive: 10,
    cleanStart: true,
    sessionExpiry: 10,
    receiveMaximum: 1,
    username: "u",
    password: "pw",
  });
  assert.deepEqual([...bytes.subarray(9, 12)], [0xc2, 0, 10]); // flags: user, password, clean
  assert.deepEqual([...bytes.subarray(12, 21)], [8, 0x11, 0, 0, 0, 10, 0x21, 0, 1]);
  assert.deepEqual([...bytes.subarray(21)], [
    0,
    1,
    ...ascii("c"),
    0,
    1,
    ...ascii("u"),
    0,
    2,
    ...ascii("pw"),
  ]);
  assert.equal(bytes[1], bytes.length - 2);
});

Deno.test("mqtt wire: SUBSCRIBE, PUBACK, PINGREQ and DISCONNECT bytes (§3.8, §3.4, §3.12, §3.14)", () => {
  assert.deepEqual([...encodeSubscribe(1, "a/b", 1)], [
    0x82, // SUBSCRIBE: type 8, reserved flags 0010
    9,
    0,
    1, // packet identifier
    0, // no properties
    0,
    3,
    ...ascii("a/b"),
    1, // subscription options: QoS 1
  ]);
  const acks = new Uint8Array(8);
  writePuback(acks, 0, 1);
  writePuback(acks, 4, 0x1234);
  assert.deepEqual([...acks], [0x40, 2, 0, 1, 0x40, 2, 0x12, 0x34]);
  assert.deepEqual([...PINGREQ], [0xc0, 0]);
  assert.deepEqual([...DISCONNECT], [0xe0, 0]);
});

Deno.test("mqtt wire: CONNACK, with and without properties; refusals keep their reason code (§3.2)", () => {
  const [a, b, c] = readAll([
    ...[0x20, 3, 0, 0, 0], // no session present, success, no properties
    ...[0x20, 14, 1, 0, 11, 0x21, 0, 20, 0x13, 0, 30, 0x1f, 0, 2, ...ascii("ok")],
    ...[0x20, 3, 0, 0x87, 0], // Not authorized
  ]);
  assert.deepEqual(a, { type: "connack", sessionPresent: false, reasonCode: 0 });
  assert.deepEqual(b, {
    type: "connack",
    sessionPresent: true,
    reasonCode: 0,
    serverKeepAlive: 30,
    reason: "ok",
  });
  assert.deepEqual(c, { type: "connack", sessionPresent: false, reasonCode: 0x87 });
  assert.equal(reasonText(0x87), "Not authorized (0x87)");
  assert.equal(reasonText(0x86), "Bad User Name or Password (0x86)");
});

Deno.test("mqtt wire: PUBLISH at QoS 0 and 1, DUP and RETAIN, properties skipped (§3.3)", () => {
  const packets = readAll([
    // QoS 1, DUP: 0011 1010; topic a/b, packet id 10, two properties, payload "hi"
    ...[0x3a, 17, 0, 3, ...ascii("a/b"), 0, 10, 7, 0x01, 1, 0x02, 0, 0, 0, 60, ...ascii("hi")],
    // QoS 0, RETAIN: 0011 0001; no packet id, no properties, a UTF-8 topic
    ...[0x31, 7, 0, 4, 0xc3, 0xa9, ...ascii("/x"), 0, ...ascii("")],
  ]);
  assert.deepEqual(packets, [
    {
      type: "publish",
      topic: "a/b",
      id: 10,
      qos: 1,
      dup: true,
      retain: false,
      payload: new Uint8Array(ascii("hi")),
    },
    {
      type: "publish",
      topic: "é/x",
      id: 0,
      qos: 0,
      dup: false,
      retain: true,
      payload: new Uint8Array(),
    },
  ]);
});

Deno.test("mqtt wire: remaining lengths at each variable byte integer boundary (§1.5.5)", () => {
  for (
    const [length, header] of [
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16383, [0xff, 0x7f]],
      [16384, [0x80, 0x80, 0x01]],
      [200_000, [0xc0, 0x9a, 0x0c]],
    ] as const
  ) {
    // PUBLISH QoS 0, topic "t": 3 bytes of topic, 1 of properties, the rest payload.
    const payload = new Array<number>(length - 4).fill(0x41);
    const bytes = [0x30, ...header, 0, 1, ...ascii("t"), 0, ...payload];
    for (const chunk of [bytes.length, 4096, 1000]) {
      const [p] = readAll(bytes, chunk);
      assert.equal(p?.type, "publish");
      assert.equal(p.type === "publish" && p.payload.length, length - 4, `length ${length}`);
    }
  }
});

Deno.test("mqtt wire: packets split at every byte and run together read the same", () => {
  const bytes = [
    ...[0x20, 3, 1, 0, 0],
    ...[0x90, 4, 0, 1, 0, 1], // SUBACK: id 1, granted QoS 1 (§3.9)
    ...[0x32, 7, 0, 1, ...ascii("t"), 0x12, 0x34, 0, ...ascii("x")],
    ...[0x90, 4, 0, 2, 0, 0x87], // SUBACK refused: Not authorized
    ...[0xd0, 0], // PINGRESP (§3.13)
    ...[0x40, 2, 0, 1], // a PUBACK: skipped
    ...[0xe0, 2, 0x8e, 0], // DISCONNECT: session taken over (§3.14)
    ...[0xe0, 0], // DISCONNECT, normal, reason left out
  ];
  const whole = readAll(bytes);
  assert.deepEqual(whole.map((p) => p.type), [
    "connack",
    "suback",
    "publish",
    "suback",
    "pingresp",
    "disconnect",
    "disconnect",
  ]);
  assert.deepEqual(whole[1], { type: "suback", id: 1, reasonCodes: [1] });
  assert.deepEqual(whole[3], { type: "suback", id: 2, reasonCodes: [0x87] });
  assert.equal(whole[2]?.type === "publish" && whole[2].id, 0x1234);
  assert.deepEqual(whole[5], { type: "disconnect", reasonCode: 0x8e });
  assert.deepEqual(whole[6], { type: "disconnect", reasonCode: 0 });
  assert.deepEqual(readAll(bytes, 1), whole);
});

Deno.test("mqtt wire: malformed packets are protocol errors naming what is wrong", () => {
  const bad = (bytes: number[], message: RegExp) =>
    assert.throws(
      () => readAll(bytes),
      (e) => e instanceof MqttProtocolError && message.test(e.message),
    );
  bad([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], /remaining length longer than 4 bytes/);
  bad([0x36, 3, 0, 1, ...ascii("t")], /QoS 3/);
  bad([0x30, 3, 0, 9, ...ascii("t")], /topic past the packet's end/);
  bad([0x10, 0], /unexpected MQTT packet type 1/);
  bad([0x20, 5, 0, 0, 2, 0x7f, 0], /unknown MQTT property 0x7f/);
  bad([0x20, 5, 0, 0, 2, 0x21, 0], /property past its block/);
  bad([0x30, 5, 0, 2, 0xc3, 0x28, 0], /not UTF-8/);
});

Deno.test("mqtt broker URLs: port defaults, user and password, IPv6; bad ones named", () => {
  assert.deepEqual(parseBroker("mqtt://127.0.0.1:1884"), {
    tls: false,
    hostname: "127.0.0.1",
    port: 1884,
  });
  assert.deepEqual(parseBroker("mqtt://broker"), { tls: false, hostname: "broker", port: 1883 });
  assert.deepEqual(parseBroker("mqtts://broker.local"), {
    tls: true,
    hostname: "broker.local",
    port: 8883,
  });
  assert.deepEqual(parseBroker("mqtt://vigil:p%40ss:w@[::1]:1885"), {
    tls: false,
    hostname: "::1",
    port: 1885,
    username: "vigil",
    password: "p@ss:w",
  });
  assert.deepEqual(parseBroker("mqtt://only-user@h:1"), {
    tls: false,
    hostname: "h",
    port: 1,
    username: "only-user",
  });
  assert.throws(
    () => parseBroker("mqtt://h:abc"),
    /bad MQTT broker port "abc" in "mqtt:\/\/h:abc"/,
  );
  assert.throws(() => parseBroker("mqtt://h:70000"), /bad MQTT broker port "70000"/);
  assert.throws(() => parseBroker("http://h:1"), /bad MQTT broker "http:\/\/h:1"/);
  assert.throws(() => parseBroker("mqtt://u%zz@h"), /bad %-escape/);
});

Deno.test("mqtt wire: PUBLISH topics read right however many there are (the topic cache)", () => {
  const utf8 = new TextEncoder();
  /** A QoS 0 PUBLISH of `topic` with an empty payload and no properties. */
  const publish = (topic: string) => {
    const t = [...utf8.encode(topic)];
    const rest = [t.length >> 8, t.length & 0xff, ...t, 0];
    return rest.length < 128
      ? [0x30, rest.length, ...rest]
      : [0x30, (rest.length & 0x7f) | 0x80, rest.length >> 7, ...rest];
  };
  // More topics than the cache's slots, so slots are shared and replaced; topics of one length
  // that differ in one byte; a non-ASCII one and ones past 64 bytes (not cached).
  const topics: string[] = [];
  for (let i = 0; i < 3000; i++) topics.push(`plant/m${i}/telemetry`);
  // "p/46wu" and "p/bwfa" have one 32-bit FNV-1a hash: one slot, told apart by their bytes.
  topics.push(
    "p/46wu",
    "p/bwfa",
    "p/46wu",
    "plant/m1/telemetrx",
    "plant/m1/Telemetry",
    "plant/é/telemetry",
    `plant/${"x".repeat(70)}`,
    "",
  );
  const order = [...topics, ...[...topics].reverse(), ...topics];
  const packets = readAll(order.flatMap(publish));
  assert.deepEqual(packets.map((p) => p.type === "publish" ? p.topic : null), order);
});
