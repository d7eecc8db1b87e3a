/**
 * A message payload read from its bytes (`PayloadLines`, used by the MQTT and NATS sources)
 * against the string path it replaces (the payload decoded whole, split on `\n`, each line
 * parsed by `createLineParser` and named by `includes('"machine"')` / `M:`): the same readings
 * (key order and `Object.is` on every number), the same `named`, the same refused lines and
 * errors, in the same order. And the delivery hash of a payload's bytes against that of its text,
 * which the MQTT delivery journal keeps across restarts and versions.
 */
import assert from "node:assert/strict";
import { PayloadLines, type PayloadLinesOptions } from "../../engine/formats/payload_lines.ts";
import { createLineParser, type Reading } from "../../engine/mod.ts";
import { LineSplitter } from "../../engine/formats/line_splitter.ts";
import { deliveryHash, deliveryHashOfAscii } from "../../engine/sources/mqtt/ack_journal.ts";
import { prng } from "../helpers.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { writeReading } from "../../engine/formats/reading_format.ts";

const encoder = new TextEncoder();
const TIME = '"timestamp":"2026-01-01T00:00:00.000Z"';

type Event = unknown[];

/** A reading with its key order and -0 visible to deepStrictEqual. */
function shape(r: Reading): unknown {
  return { keys: Object.keys(r), reading: r, channels: Object.entries(r.channels) };
}

/** What the MQTT source did before the byte path (3352bfb's `ingest`/`ingestLine`), with a
 * line's last `\r` dropped, as the file source's `LineSplitter` drops it. */
function stringPath(payload: Uint8Array, options: PayloadLinesOptions): Event[] {
  const events: Event[] = [];
  const parserOptions = { now: options.now, maxLineLength: options.maxLineLength };
  const json = createLineParser("json", parserOptions);
  const kv = createLineParser("kv", { ...parserOptions, deviceKeys: options.deviceKeys });
  const text = new TextDecoder().decode(payload);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    let first = line.charCodeAt(0);
    if (first === 32 || first === 9) first = line.trimStart().charCodeAt(0);
    const isJson = options.format === "json" || (options.format === "auto" && first === 123);
    const r = (isJson ? json : kv).parse(line);
    if (r === null) continue;
    if (typeof r === "string") events.push(["refuse", line, r]);
    else {
      const named = isJson ? line.includes('"machine"') : /(?:^|,)\s*M\s*:/.test(line);
      events.push(["take", shape(r), named, line]);
    }
  }
  return events;
}

/** The payloads through `PayloadLines` (one instance: its tables carry over), from the bytes
 * and, for the MQTT source's non-ASCII payloads, from the decoded text. */
function bytePath(
  payloads: readonly Uint8Array[],
  options: PayloadLinesOptions,
  fromText = false,
): Event[][] {
  let events: Event[] = [];
  const lines: PayloadLines = new PayloadLines(
    options,
    (r, named) => events.push(["take", shape(r), named, lines.line()]),
    (line, error) => events.push(["refuse", line, error]),
  );
  return payloads.map((p) => {
    events = [];
    if (fromText) lines.readText(new TextDecoder().decode(p));
    else lines.read(p);
    return events;
  });
}

/** A JSON line of exactly `n` UTF-16 units: at and past the `maxLineLength`s below. */
function sized(n: number): string {
  return `{"timestamp":0,"t":1,"p":"${"x".repeat(n - 28)}"}`;
}

/** Lines the byte path must read as the string path does, alone or side by side. */
const LINES: readonly string[] = [
  sized(64),
  sized(65),
  `${sized(64)}\r`,
  sized(100),
  sized(101),
  `{${TIME},"machine":"press-1","status":"RUNNING","temperature":19.87,"speed":601.79}`,
  `{${TIME},"machine":"press-2","temperature":20.5}`,
  `{${TIME},"machine":"m1","t":1}`,
  `{${TIME},"t":1}`,
  `{${TIME},"machine":7,"t":1}`,
  `{${TIME},"machine":null,"t":1}`,
  `{${TIME},"injected":"machine","t":1}`,
  `{${TIME},"note":"the \\"machine\\" key","t":1}`,
  `{${TIME},"machines":2}`,
  `{"timestamp":1767225600000,"temperature":22}`,
  ` { "timestamp" : 0 ,\t"machine" : "m1" , "t" : 1 }\t `,
  `\t{${TIME},"t":1}`,
  ` \u00a0{${TIME},"t":1}`,
  ` \u000b{${TIME},"t":1}`,
  `\u000c{${TIME},"t":1}`,
  `\ufeff{${TIME},"t":1}`,
  `{${TIME},"t":1}\r`,
  `{${TIME},"machine":"m\\u0031","t":1}`,
  `{${TIME},"machine":"mé","t":1}`,
  `{${TIME},"tëmp":1}`,
  `{${TIME},"machine":"機械","t":1}`,
  `{${TIME},"machine":" x","t":1}`,
  `{${TIME},"status":"bad status","t":1}`,
  `{${TIME},"t":1e999}`,
  `{${TIME},"a":-0,"b":0.1,"c":1e-7,"d":12345678901234567890}`,
  `{${TIME},"t":1,"t":2}`,
  `{${TIME},"0":1,"t":2}`,
  `{${TIME},"x":{"y":1},"t":2}`,
  `{${TIME}}`,
  `{"t":1}`,
  `{not json`,
  `[1]`,
  `{`,
  `T:85.5,V:5.0,S:WARNING_TEMP`,
  `T:3,M:kiln-7`,
  `T:3, M :kiln-7`,
  `not a reading`,
  `"machine"`,
  ``,
  `   `,
  `\r`,
  `\t\r`,
  `{${TIME},"long":"${"x".repeat(90)}","t":1}`,
  `{${TIME},"long":"${"é".repeat(40)}","t":1}`,
];

const OPTIONS: readonly PayloadLinesOptions[] = [
  { format: "auto", now: () => 5 },
  { format: "json", now: () => 5 },
  { format: "kv", now: () => 5 },
  { format: "auto", now: () => 5, maxLineLength: 100 },
  { format: "json", now: () => 5, maxLineLength: 64 },
];

/** Payloads of whole lines: each line alone, and random runs of them joined by `\n` or `\r\n`,
 * with or without a last newline or a leading byte order mark; and bytes that are not UTF-8. */
function payloads(): Uint8Array[] {
  const out: Uint8Array[] = LINES.map((l) => encoder.encode(l));
  const random = prng(14);
  const pick = () => LINES[Math.floor(random() * LINES.length)]!;
  for (let k = 0; k < 400; k++) {
    const n = 1 + Math.floor(random() * 5);
    let text = random() < 0.05 ? "\ufeff" : "";
    for (let i = 0; i < n; i++) {
      text += pick();
      if (i < n - 1 || random() < 0.4) text += random() < 0.3 ? "\r\n" : "\n";
    }
    if (random() < 0.1) text += "\n\n";
    out.push(encoder.encode(text));
  }
  const line = encoder.encode(`{${TIME},"t":1}`);
  const bad = [
    [0xff, 0x0a, ...line],
    [...line, 0x0a, 0xe6, 0x9c, 0x0a, ...line],
    [...line.slice(0, 30), 0xc3, ...line.slice(30)],
    [0x7b, 0x22, 0xf0, 0x9f, 0x22, 0x3a, 0x31, 0x7d],
    [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, ...line],
    [...line, 0x0a, 0xef, 0xbb, 0xbf, ...line],
    [0xef, 0xbb],
  ];
  for (const b of bad) out.push(new Uint8Array(b));
  return out;
}

Deno.test("payload lines: read from the bytes as the string path reads the decoded payload", () => {
  const all = payloads();
  for (const options of OPTIONS) {
    const fromBytes = bytePath(all, options);
    const fromText = bytePath(all, options, true);
    for (let i = 0; i < all.length; i++) {
      const expected = stringPath(all[i]!, options);
      const what = `${JSON.stringify(options)} payload ${
        JSON.stringify(
          new TextDecoder().decode(all[i]!),
        )
      }`;
      assert.deepStrictEqual(fromBytes[i], expected, `bytes: ${what}`);
      assert.deepStrictEqual(fromText[i], expected, `text: ${what}`);
    }
  }
});

Deno.test("payload lines: a JSON line is named by its payload's machine or not at all", () => {
  const got: [string, boolean][] = [];
  const lines = new PayloadLines(
    { format: "auto" },
    (r, named) => got.push([r.machine, named]),
    () => {},
  );
  lines.read(encoder.encode(
    `{${TIME},"machine":"m1","t":1}\r\n{${TIME},"t":2}\n{${TIME},"machine":"press-1","t":3}`,
  ));
  assert.deepEqual(got, [["m1", true], ["m1", false], ["press-1", true]]);
});

Deno.test("payload lines: a refused CRLF line is the line the file source refuses", () => {
  const payload = '{"timestamp":0,"t":1}\r\nnot json\r\nT:x\r\n\r\n{"timestamp":0}\r';
  const got: [string, string][] = [];
  const lines = new PayloadLines({ format: "auto" }, () => {}, (l, e) => got.push([l, e]));
  lines.read(encoder.encode(payload));
  lines.readText(payload);
  // The file source: `LineSplitter`, then the parser its first character chooses.
  const splitter = new LineSplitter();
  const expected: [string, string][] = [];
  for (const line of [...splitter.push(payload), ...splitter.flush()]) {
    const r = createLineParser(line.startsWith("{") ? "json" : "kv").parse(line);
    if (typeof r === "string") expected.push([line, r]);
  }
  assert.deepEqual(expected.map(([l]) => l), ["not json", "T:x", '{"timestamp":0}']);
  assert.deepEqual(got, [...expected, ...expected]);
});

Deno.test("payload lines: a line's \\r is not counted in maxLineLength, as LineSplitter counts", () => {
  const line = `{${TIME},"t":1}`;
  const options = { format: "json" as const, maxLineLength: line.length };
  const splitter = new LineSplitter({ maxLineLength: line.length });
  assert.deepEqual([...splitter.push(`${line}\r\n`), ...splitter.flush()], [line]);
  const readings: Reading[] = [], refused: string[] = [];
  const lines = new PayloadLines(options, (r) => readings.push(r), (l) => refused.push(l));
  lines.read(encoder.encode(`${line}\r\n${line}\r`));
  lines.readText(`${line}\r\n`);
  assert.deepEqual(refused, []);
  assert.equal(readings.length, 3);
});

Deno.test("delivery hash: of an ASCII payload's bytes, that of its text; -1 for any other byte", () => {
  // Pinned: journals written by earlier versions hold these values.
  assert.equal(deliveryHash("plant/press-1/telemetry", '{"timestamp":0,"t":1}'), 0x2303a115);
  assert.equal(
    deliveryHashOfAscii("plant/press-1/telemetry", encoder.encode('{"timestamp":0,"t":1}')),
    0x2303a115,
  );
  const random = prng(7);
  const decoder = new TextDecoder();
  for (let k = 0; k < 2000; k++) {
    const n = Math.floor(random() * 200);
    const bytes = new Uint8Array(n);
    const wide = random() < 0.3;
    for (let i = 0; i < n; i++) bytes[i] = Math.floor(random() * (wide ? 256 : 128));
    const topic = `plant/m${k}/telemetry`;
    const ascii = bytes.every((b) => b < 0x80);
    assert.equal(
      deliveryHashOfAscii(topic, bytes),
      ascii ? deliveryHash(topic, decoder.decode(bytes)) : -1,
      `payload ${bytes.join(",")}`,
    );
    // The same payload where it lies in a packet's bytes, a non-ASCII byte on either side.
    const packet = new Uint8Array(n + 2);
    packet.set(bytes, 1);
    packet[0] = packet[n + 1] = 0xff;
    assert.equal(deliveryHashOfAscii(topic, packet, 1, n + 1), deliveryHashOfAscii(topic, bytes));
  }
  for (const text of ["é", "\ufeff{}", "{}\u00a0", "😀"]) {
    assert.equal(deliveryHashOfAscii("t", encoder.encode(text)), -1, text);
  }
});

Deno.test("payload lines: copyLine appends exactly the line writeReading writes, or nothing", () => {
  const formatted = new ByteText();
  const copied = new ByteText();
  let copies = 0, declined = 0;
  for (const options of OPTIONS) {
    const lines: PayloadLines = new PayloadLines(
      options,
      (r) => {
        formatted.clear();
        writeReading(r, formatted);
        copied.clear();
        if (lines.copyLine(copied)) {
          copies++;
          assert.equal(
            new TextDecoder().decode(copied.bytes()),
            new TextDecoder().decode(formatted.bytes()),
            `copied line of ${lines.line()}`,
          );
        } else {
          declined++;
          assert.equal(copied.length, 0);
        }
      },
      () => {},
    );
    for (const p of payloads()) lines.read(p);
    // A canonical line is copied (the simulator's form), a reordered one is not.
    const canonical =
      '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m9","status":"OK","t":1.5}';
    for (
      const [line, copies] of [[canonical, true], [
        canonical.replace('"status":"OK",', ""),
        false,
      ]] as const
    ) {
      copied.clear();
      let took = false;
      const one = new PayloadLines(options, () => took = one.copyLine(copied), () => {});
      one.read(encoder.encode(`${line}\r\n`));
      // (A line past maxLineLength is refused, and a kv parser reads no JSON.)
      if (options.format !== "kv" && (options.maxLineLength ?? 65536) >= line.length) {
        assert.equal(took, copies, line);
        if (copies) assert.equal(new TextDecoder().decode(copied.bytes()), `${line}\n`);
      }
    }
  }
  assert.ok(copies > 10 && declined > 100, `${copies} copied, ${declined} formatted`);
});
