/**
 * The byte path of JSONL (`ByteLines` + `JsonLineScanner` in `FileSource`) against the string
 * path it replaces (`TextDecoder` + `LineSplitter` + `createLineParser("json")`): the same
 * readings (key order and `Object.is` on every number), the same errors, the same line counts.
 */
import assert from "node:assert/strict";
import { JsonLineScanner, MAX_INTERNED } from "../../engine/formats/json_line_scanner.ts";
import { ByteLines } from "../../engine/formats/byte_lines.ts";
import { createLineParser, FileSource, LineSplitter, type ParseResult } from "../../engine/mod.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { writeReading } from "../../engine/formats/reading_format.ts";
import type { Reading } from "../../engine/core/types.ts";
import { prng } from "../helpers.ts";
import { ReadingColumns } from "../../engine/core/reading_columns.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TIME = '"timestamp":"2026-01-01T00:00:00.000Z"';

/** A reading as a value whose deep equality also holds key order and -0 (deepStrictEqual
 * compares numbers with Object.is). */
function shape(r: ParseResult): unknown {
  if (r === null || typeof r === "string") return r;
  return {
    keys: Object.keys(r),
    reading: r,
    channels: Object.entries(r.channels),
  };
}

/** Lines the scanner must take or decline exactly as the parser reads them. */
const EDGE_LINES: readonly string[] = [
  `{${TIME},"machine":"m1","status":"STARTED","temperature":19.87,"speed":601.79}`,
  ` { "timestamp" : "2026-01-01T00:00:00.000Z" ,\t"machine" : "m1" , "t" : 1 }\t `,
  `{${TIME},\r"t":1}\r`,
  `{${TIME},"machine":"m\\u0031","t":1}`,
  `{${TIME},"status":"RUN\\nNING","t":1}`,
  `{${TIME},"k\\"ey":1}`,
  `{${TIME},"note":"a\\\\b","t":1}`,
  `{${TIME},"machine":"mé","t":1}`,
  `{${TIME},"tëmp":1}`,
  `{${TIME},"machine":"m😀","t":1}`,
  `{${TIME},"machine":"機械","t":1}`,
  `{${TIME},"a":1e5,"b":1E5,"c":1e+5,"d":1e-5,"e":1.5e300,"f":1e-320,"g":1e-400}`,
  `{${TIME},"t":1e999}`,
  `{${TIME},"t":-1e999}`,
  `{${TIME},"a":-0,"b":-0.0,"c":0e5,"d":-0e-5,"e":0.0,"f":0}`,
  `{${TIME},"a":12345678901234567890,"b":9007199254740993,"c":-9007199254740993}`,
  `{${TIME},"a":0.30000000000000004,"b":19.873456789012345,"c":1.7976931348623157e308}`,
  `{${TIME},"a":123456789012345,"b":1234567890123456,"c":0.000000000000000000001234}`,
  `{${TIME},"a":1234567e20,"b":1e22,"c":1e23,"d":123456789012345e-22,"e":5e-324}`,
  `{${TIME},"a":2.2250738585072011e-308,"b":4.9406564584124654e-324,"c":1e-7,"d":100e-2}`,
  `{${TIME},"a":0.1,"b":0.2,"c":0.7,"d":1.1,"e":3.3,"f":123.456,"g":-98.7654321}`,
  `{${TIME},"a":1e0000000000000000000001,"b":1e-0000000000000000000001}`,
  `{${TIME},"0":1,"t":2}`,
  `{${TIME},"123":5,"t":2}`,
  `{${TIME},"1a":2}`,
  `{${TIME},"t":1,"t":2}`,
  `{${TIME},"t":1,"x":2,"t":"a"}`,
  `{${TIME},"t":"a","x":2,"t":3}`,
  `{${TIME},"status":"IDLE","t":1,"status":null}`,
  `{${TIME},"injected":"a","t":1,"injected":7}`,
  `{${TIME},"machine":"a","machine":"b","t":1}`,
  `{"timestamp":"2026-01-01T00:00:00.000Z","timestamp":"2026-01-01T00:00:01.000Z","t":1}`,
  `{"machine":"m1","t":1}`,
  `{${TIME},"t":2}`,
  `{${TIME},"status":"IDLE"}`,
  `{${TIME}}`,
  `{${TIME},"machine":"m1"}`,
  `{}`,
  `{`,
  `{"a":}`,
  `[1]`,
  `"str"`,
  `1`,
  `null`,
  `{${TIME},"t":1,}`,
  `{${TIME},"t":01}`,
  `{${TIME},"t":.5}`,
  `{${TIME},"t":1.}`,
  `{${TIME},"t":+1}`,
  `{${TIME},"t":-}`,
  `{${TIME},"t":1e}`,
  `{${TIME},"t":1e+}`,
  `{${TIME},"t":1 2}`,
  `{${TIME},"t":1.5.3}`,
  `{${TIME},"t":1} x`,
  `{${TIME},"t":1}}`,
  `{${TIME} "t":1}`,
  `{${TIME},"t"1}`,
  `{${TIME},t:1}`,
  `{${TIME},'t':1}`,
  `{${TIME},"t":1,"o":{"a":1}}`,
  `{${TIME},"t":1,"arr":[1,2]}`,
  `{${TIME},"machine":null,"t":1}`,
  `{${TIME},"status":null,"t":1}`,
  `{${TIME},"status":null}`,
  `{${TIME},"machine":true,"t":1}`,
  `{${TIME},"status":false,"t":1}`,
  `{${TIME},"x":true,"y":false,"z":null,"t":1}`,
  `{${TIME},"x":tru,"t":1}`,
  `{${TIME},"x":nul}`,
  `{${TIME},"x":nulll,"t":1}`,
  `{${TIME},"x":True,"t":1}`,
  `{"timestamp":null,"t":1}`,
  `{"timestamp":true,"t":1}`,
  `{${TIME},"injected":null,"t":1}`,
  `{${TIME},"injected":"bearing_wear","t":1}`,
  `{${TIME},"injected":5,"t":1}`,
  `{${TIME},"injected":"","t":1}`,
  `{${TIME},"machine":5,"t":1}`,
  `{${TIME},"machine":1e21,"t":1}`,
  `{${TIME},"machine":-0,"t":1}`,
  `{${TIME},"machine":1.50,"t":1}`,
  `{${TIME},"machine":1e999,"t":1}`,
  `{"timestamp":1767225600000,"t":1}`,
  `{"timestamp":1767225600000.5,"t":1}`,
  `{"timestamp":-1,"t":1}`,
  `{"timestamp":1e20,"t":1}`,
  `{"timestamp":1e999,"t":1}`,
  `{"timestamp":"1767225600000","t":1}`,
  `{"timestamp":"2026-01-01 00:00:00","t":1}`,
  `{"timestamp":"2026-01-01","t":1}`,
  `{"timestamp":"2026-01-01T01:00:00+01:00","t":1}`,
  `{"timestamp":"nope","t":1}`,
  `{"timestamp":"","t":1}`,
  `{"timestamp":"not a time 1","t":1}`,
  `{${TIME},"status":1,"t":1}`,
  `{${TIME},"machine":"running","t":1}`, // a good machine id first, then a bad status
  `{${TIME},"status":"running","t":1}`,
  `{${TIME},"status":"m1","t":1}`,
  `{${TIME},"status":"${"A".repeat(33)}","t":1}`,
  `{${TIME},"status":"A${"B".repeat(31)}","t":1}`,
  `{${TIME},"machine":"","t":1}`,
  `{${TIME},"machine":" m1","t":1}`,
  `{${TIME},"machine":"${"m".repeat(129)}","t":1}`,
  `{${TIME},"machine":"${"m".repeat(128)}","t":1}`,
  `{${TIME},"machine":"a\u007fb","t":1}`,
  `{${TIME},"machine":"a\tb","t":1}`,
  `{${TIME},"__proto__":1,"t":1}`,
  `{${TIME},"toString":1,"constructor":2,"hasOwnProperty":3}`,
  `{${TIME},"":1}`,
  `{${TIME},"t":1,"note":"x"}`,
  // Strings past what the scanner interns (256 bytes), twice each: made anew, not remembered.
  `{${TIME},"injected":"${"f".repeat(300)}","t":1}`,
  `{${TIME},"injected":"${"f".repeat(300)}","t":2}`,
  `{${TIME},"${"k".repeat(300)}":1,"t":1}`,
  `{${TIME},"${"k".repeat(300)}":2,"t":1}`,
  `\uFEFF{${TIME},"t":1}`,
  `{${TIME},"t":1}\u00a0`,
  `{${TIME},"t":1}\u000b`,
  ``,
  `   `,
  `\t`,
  `\r`,
  `\u00a0`,
];

const STATUSES = ["STARTED", "RUNNING", "IDLE", "WARNING_TEMP"];

/** A random JSON number in one of the forms a file may hold. */
function randomNumber(rand: () => number): string {
  const sign = rand() < 0.2 ? "-" : "";
  switch (Math.floor(rand() * 8)) {
    case 0:
      return sign + (rand() * 1000).toFixed(Math.floor(rand() * 5));
    case 1:
      return sign + String(rand() * 10 ** Math.floor(rand() * 12)); // up to 17 digits
    case 2:
      return `${sign}${Math.floor(rand() * 1e6)}e${Math.floor(rand() * 61) - 30}`;
    case 3:
      return `${sign}${(rand() * 10).toFixed(Math.floor(rand() * 16))}E${rand() < 0.5 ? "+" : "-"}${
        Math.floor(rand() * 25)
      }`;
    case 4:
      return sign + String(Math.floor(rand() * 2 ** 60));
    case 5:
      return sign + "0." + "0".repeat(Math.floor(rand() * 25)) + String(Math.floor(rand() * 1e9));
    case 6:
      return sign + String(Math.floor(rand() * 1e15)) + "." + String(Math.floor(rand() * 1e4));
    default:
      return sign + String(rand() * 1e-5 * 10 ** -Math.floor(rand() * 300));
  }
}

/** Canonical-looking lines with random values, key order and spacing: all of them readings the
 * scanner must take. */
function randomLines(count: number, seed: number): string[] {
  const rand = prng(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const second = Math.floor(i / 7);
    const members = [
      `"timestamp":"2026-01-01T00:${String(Math.floor(second / 60) % 60).padStart(2, "0")}:${
        String(second % 60).padStart(2, "0")
      }.000Z"`,
      `"machine":"m${1 + Math.floor(rand() * 50)}"`,
    ];
    if (rand() < 0.8) members.push(`"status":"${STATUSES[Math.floor(rand() * 4)]}"`);
    if (rand() < 0.1) members.push(`"injected":"bearing_wear"`);
    const channels = 1 + Math.floor(rand() * 4);
    for (let c = 0; c < channels; c++) members.push(`"ch${c}":${randomNumber(rand)}`);
    if (rand() < 0.3) members.reverse();
    const sp = rand() < 0.2 ? " " : "";
    lines.push(`{${sp}${members.join(`${sp},${sp}`)}${sp}}`);
  }
  return lines;
}

Deno.test("JsonLineScanner reads every line it takes exactly as the JSON parser does", () => {
  const scanner = new JsonLineScanner();
  const parser = createLineParser("json");
  const random = randomLines(20000, 14);
  let taken = 0;
  for (const line of [...EDGE_LINES, ...random, ...EDGE_LINES]) {
    const bytes = encoder.encode(`xx${line}yy`); // a line inside a larger buffer
    const got = scanner.scan(bytes, 2, bytes.length - 2);
    const want = parser.parse(line);
    if (got === null) continue;
    taken++;
    assert.deepStrictEqual(shape(got), shape(want), line);
  }
  // Every random line is a well-formed reading of ASCII text: the scanner takes them all.
  for (const line of random) {
    const bytes = encoder.encode(line);
    assert.notEqual(scanner.scan(bytes, 0, bytes.length), null, `declined: ${line}`);
  }
  assert.ok(taken > random.length, `${taken} taken`);
});

/** Strings of every length from 1 to 13 bytes, and each with one byte changed: what the scanner
 * compares a word (4 bytes) at a time with the strings it has seen must still tell them apart. */
function nearStrings(): string[] {
  const strings: string[] = [];
  for (let length = 1; length <= 13; length++) {
    const base = "ABCDEFGHIJKLM".slice(0, length); // a status word too
    strings.push(base);
    for (let at = 0; at < length; at++) strings.push(base.slice(0, at) + "Z" + base.slice(at + 1));
  }
  return strings;
}

Deno.test("JsonLineScanner tells apart strings that differ in one byte anywhere", () => {
  const scanner = new JsonLineScanner();
  const parser = createLineParser("json");
  const strings = nearStrings();
  const lines: string[] = [];
  // Each string seen first, then after each of the others, as a key, a machine id, a status
  // and in a timestamp (the scanner remembers the last one at each place and tries it first).
  for (const a of strings) {
    for (const b of [a, ...strings]) {
      lines.push(`{${TIME},"machine":"${a}","status":"${a}","${a}":1}`);
      lines.push(`{${TIME},"machine":"${b}","status":"${b}","${b}":2}`);
    }
  }
  const stamps = [
    "2026-01-01T00:00:00.000Z",
    "2026-01-01T00:00:00.001Z",
    "2026-01-01T00:00:01.000Z",
  ];
  stamps.push(...stamps.map((t) => t.slice(0, -1)), "2026-01-02T00:00:00Z", "2026-01-02");
  for (const a of stamps) {
    for (const b of stamps) lines.push(`{"timestamp":"${a}","t":1}`, `{"timestamp":"${b}","t":2}`);
  }
  let taken = 0;
  for (const line of lines) {
    const bytes = encoder.encode(line);
    const got = scanner.scan(bytes, 0, bytes.length);
    if (got !== null) taken++;
    assert.deepStrictEqual(shape(got ?? parser.parse(line)), shape(parser.parse(line)), line);
  }
  assert.equal(taken, lines.length);
});

Deno.test("JsonLineScanner.scanLine reads each line of a buffer as scan reads it alone, scanLineInto as columns", () => {
  const lines = [...EDGE_LINES, ...randomLines(2000, 21), ...nearCanonicalLines(2000, 22)];
  // Ends that a line may have, and lines that a \n splits (never read as one line).
  const ends = ["\n", "\r\n", " \n", "\t\r\n", "\r\r\n"];
  const split = [
    `{${TIME},\n"t":1}`,
    `{${TIME},"t":\n1}`,
    `{${TIME},"t":1\n}`,
    `{\n${TIME},"t":1}`,
  ];
  const rand = prng(23);
  const all = [...lines, ...split.flatMap((l) => l.split("\n"))];
  const text = [...lines, ...split].map((l) => l + ends[Math.floor(rand() * ends.length)]).join("");
  const bytes = encoder.encode(text);
  const whole = new JsonLineScanner(), alone = new JsonLineScanner();
  const into = new JsonLineScanner();
  // Small, so that lines past its first room make it grow; filled by every line `into` takes.
  const columns = new ReadingColumns(1, 1);
  let start = 0, taken = 0, count = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl > start && bytes[nl - 1] === 0x0d ? nl - 1 : nl;
    const want = alone.scan(bytes, start, end);
    const canonical = alone.canonical;
    const got = whole.scanLine(bytes, start, bytes.length);
    const line = new TextDecoder().decode(bytes.subarray(start, nl));
    assert.deepStrictEqual(shape(got), shape(want), line);
    const before = columns.length;
    const wrote = into.scanLineInto(bytes, start, bytes.length, columns);
    assert.equal(wrote, got !== null, line);
    // A declined line leaves the columns as they were; a taken one adds its reading.
    assert.equal(columns.length, before + (wrote ? 1 : 0), line);
    assert.equal(columns.entries, columns.first[columns.length], line);
    if (wrote) {
      assert.deepStrictEqual(shape(columns.reading(before)), shape(got), line);
      assert.equal(into.lineEnd, nl);
      assert.equal(into.canonical, canonical);
    }
    if (got !== null) {
      assert.equal(whole.lineEnd, nl);
      assert.equal(whole.canonical, canonical);
      taken++;
    }
    count++;
    start = nl + 1;
  }
  assert.equal(count, all.length);
  assert.ok(taken > lines.length / 2, `${taken} taken`);
  // Every reading taken is still there as it was read, after the columns grew.
  assert.equal(columns.length, taken);
  // No \n before the limit: no line.
  const last = encoder.encode(`{${TIME},"t":1}`);
  assert.equal(whole.scanLine(last, 0, last.length), null);
  assert.equal(into.scanLineInto(last, 0, last.length, columns), false);
  assert.equal(columns.length, taken);
});

Deno.test("JsonLineScanner finds a key twice in a line when its table of strings is full", () => {
  const scanner = new JsonLineScanner();
  const parser = createLineParser("json");
  for (let i = 0; i < MAX_INTERNED; i++) {
    const bytes = encoder.encode(`{${TIME},"machine":"x${i}","t":1}`);
    assert.notEqual(scanner.scan(bytes, 0, bytes.length), null);
  }
  // Keys the table no longer keeps: each use is a new entry. The last "fresh" wins in
  // JSON.parse (a string: no channel); taken, the first would be a channel.
  for (const line of [`{${TIME},"t":1,"fresh":1,"fresh":"x"}`, `{${TIME},"t":1,"fresh":1}`]) {
    const bytes = encoder.encode(line);
    const got = scanner.scan(bytes, 0, bytes.length);
    assert.deepStrictEqual(shape(got ?? parser.parse(line)), shape(parser.parse(line)), line);
  }
});

/** `writeReading`'s lines of `readings`. */
function written(readings: readonly Reading[]): string {
  const out = new ByteText();
  for (const r of readings) writeReading(r, out);
  return new TextDecoder().decode(out.bytes());
}

/** Lines in writeReading's form, and each changed by one thing that may or may not keep it. */
function nearCanonicalLines(count: number, seed: number): string[] {
  const rand = prng(seed);
  // Numbers and times as writeReading writes them, and as it does not.
  const plainNumbers = [
    "0",
    "1",
    "1.5",
    "-2.25",
    "100",
    "0.000001",
    "0.00001234",
    "123456789012345",
    "19.87",
    "601.79",
    "-0.5",
    "999999999999999",
  ];
  const otherNumbers = [
    "-0",
    "0.0",
    "1.0",
    "1.50",
    "1e2",
    "1E2",
    "0.0000001",
    "1234567890123456",
    "0.30000000000000004",
    "100000000000000000000",
    "1e21",
    "12.5e-1",
    "-0.000001e0",
  ];
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const plainTime = "2026-01-01T00:00:00.000Z";
  const otherTimes = [
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.5Z",
    "2026-01-01 00:00:00",
    "2026-01-01T01:00:00.000+01:00",
  ];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const channels = Array.from(
      { length: 1 + Math.floor(rand() * 3) },
      (_, c) => `"c${c}":${rand() < 0.9 ? pick(plainNumbers) : pick(otherNumbers)}`,
    );
    const members = [
      `"timestamp":"${rand() < 0.9 ? plainTime : pick(otherTimes)}"`,
      `"machine":"m${Math.floor(rand() * 5)}"`,
      rand() < 0.5 ? `"status":null` : `"status":"RUNNING"`,
      ...channels,
    ];
    if (rand() < 0.3) members.push(`"injected":"spike"`);
    const change = Math.floor(rand() * 12);
    if (change === 0) members.splice(2, 1); // no status
    else if (change === 1) members.splice(1, 1); // no machine
    else if (change === 2) members.reverse();
    else if (change === 3) members.splice(3, 0, `"injected":"drift"`);
    else if (change === 4) members.push(`"note":"x"`, `"flag":true`);
    else if (change === 5) members[1] = `"machine":7`;
    else if (change === 6) members[0] = `"timestamp":1767225600000`;
    else if (change === 7) members.push(`"injected":3`);
    let line = `{${members.join(",")}}`;
    if (change === 8) line = line.replace(",", ", ");
    else if (change === 9) line = ` ${line}`;
    else if (change === 10) line = line.replace(":", " :");
    lines.push(line);
  }
  return lines;
}

Deno.test("JsonLineScanner.canonical: a line it calls canonical is writeReading's line of it", () => {
  const scanner = new JsonLineScanner();
  let canonical = 0, other = 0;
  const lines = [...EDGE_LINES, ...randomLines(5000, 3), ...nearCanonicalLines(20000, 5)];
  for (const line of lines) {
    const bytes = encoder.encode(`xx${line}yy`);
    const r = scanner.scan(bytes, 2, bytes.length - 2);
    if (r === null) continue;
    if (scanner.canonical) {
      canonical++;
      assert.equal(line + "\n", written([r]), line);
    } else other++;
  }
  // The line writeReading writes of any reading the scanner takes (numbers of at most 15
  // significant digits, from 1e-6 up) is called canonical.
  let rewritten = 0;
  for (const line of nearCanonicalLines(5000, 6)) {
    const first = encoder.encode(line);
    const r = scanner.scan(first, 0, first.length);
    if (r === null) continue;
    // (A numeric `injected` is a channel the scanner leaves to formatting.)
    const plain = !("injected" in r.channels) && Object.values(r.channels).every((v) => {
      const text = String(v);
      return /^-?\d+(\.\d+)?$/.test(text) && text.replace(/^-?[0.]*|\./g, "").length <= 15;
    });
    if (!plain) continue;
    const again = written([r]).slice(0, -1);
    const bytes = encoder.encode(again);
    assert.notEqual(scanner.scan(bytes, 0, bytes.length), null, again);
    assert.ok(scanner.canonical, `not canonical: ${again}`);
    rewritten++;
  }
  assert.ok(canonical > 1000 && other > 1000 && rewritten > 1000, `${canonical}, ${other}`);
});

/** A line of the reference path: its parse, and the text an error names. */
interface Expected {
  result: ParseResult;
  line: string;
  lastTime: number | null;
}

/** What the string path makes of `bytes`: decoded at once, split, parsed. */
function reference(bytes: Uint8Array, maxLineLength: number): Expected[] {
  const splitter = new LineSplitter({ maxLineLength });
  const parser = createLineParser("json", { maxLineLength });
  const text = new TextDecoder().decode(bytes);
  let lastTime: number | null = null;
  return [...splitter.push(text), ...splitter.flush()].map((line) => {
    const result = parser.parse(line);
    const e = { result, line, lastTime };
    if (result !== null && typeof result !== "string") lastTime = result.timestamp;
    return e;
  });
}

/** Reads `bytes` through FileSource and checks each batch against the reference lines. */
async function checkFile(
  bytes: Uint8Array,
  chunkBytes: number,
  maxLineLength: number,
  suppressLines: number,
): Promise<void> {
  const expected = reference(bytes, maxLineLength);
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    Deno.writeFileSync(path, bytes);
    const source = new FileSource(path, {
      format: "json",
      chunkBytes,
      maxLineLength,
      suppressLines,
      batchSize: 5,
    });
    let at = 0;
    const where = `chunkBytes ${chunkBytes}, maxLineLength ${maxLineLength}`;
    const columns = new Set<unknown>();
    let batches = 0;
    for await (const b of source.readable) {
      columns.add(b.columns);
      batches++;
      // A JSONL file without `splitBefore` writes its batches as columns.
      assert.ok(b.columns, where);
      const lines = expected.slice(at, at + b.lines);
      assert.equal(lines.length, b.lines, `${where}: more lines than the reference`);
      assert.equal(b.suppress, at < suppressLines, where);
      const readings = lines.filter((e) => e.result !== null && typeof e.result !== "string");
      assert.deepStrictEqual(
        b.readings.map(shape),
        readings.map((e) => shape(e.result)),
        `${where}: lines ${at}..${at + b.lines}`,
      );
      // The lines it built for stream_output.jsonl (copied or formatted) are writeReading's.
      if (b.suppress) assert.equal(b.text, undefined, where);
      else {
        assert.equal(
          new TextDecoder().decode(b.text!.bytes),
          written(b.readings),
          `${where}: lines ${at}..${at + b.lines}`,
        );
      }
      assert.deepStrictEqual(
        b.errors,
        lines.filter((e) => typeof e.result === "string").map((e) => ({
          line: e.line,
          error: e.result,
          time: e.lastTime,
        })),
        `${where}: lines ${at}..${at + b.lines}`,
      );
      at += b.lines;
      // Given back as the pipeline's writer does once it wrote the batch: later batches reuse
      // its columns, and must read as the reference still.
      b.release?.();
    }
    // Reused: a batch or two at a time are read here.
    if (batches > 10) assert.ok(columns.size <= 3, `${where}: ${columns.size} column sets`);
    assert.equal(at, expected.length, `${where}: lines`);
    assert.equal(source.lines, expected.length, where);
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("FileSource reads JSONL from bytes as the decoded string path does, whatever the reads", async () => {
  const random = randomLines(300, 7);
  const lines = [...EDGE_LINES, ...random, ...nearCanonicalLines(300, 8)];
  const joined = lines.map((l, i) => l + (i % 3 === 0 ? "\r\n" : "\n")).join("");
  const bad = new Uint8Array([0x7b, 0xff, 0x0a, 0xe6, 0x97, 0x0a, 0xf0, 0x9f, 0x98, 0x0a]);
  const files = [
    encoder.encode(joined),
    encoder.encode("\uFEFF" + joined + "\n\n{}"), // byte order mark, blanks, no last newline
    encoder.encode("\uFEFF"),
    encoder.encode("\uFEFF\n\uFEFF\n"),
    encoder.encode(joined + "\r"),
    new Uint8Array([0xef, 0xbb]),
    new Uint8Array([...encoder.encode(joined), ...bad, ...encoder.encode(random[0]!), 0xe6]),
    encoder.encode(
      [
        `{${TIME},"machine":"${"é".repeat(60)}","t":1}`, // past 64 units, under 3 × 64 bytes
        `{${TIME},"note":"${"x".repeat(300)}","t":1}`,
        `{${TIME},"note":"${"機".repeat(200)}","t":1}`,
        `{${TIME},"note":"${"😀".repeat(40)}","t":1}`,
        `{${TIME},"t":1}${" ".repeat(64 - TIME.length - 9)}`, // 64 units exactly
        `{${TIME},"t":1}${" ".repeat(65 - TIME.length - 9)}`, // 65
        ...random.slice(0, 20),
      ].join("\r\n"),
    ),
  ];
  for (const [f, bytes] of files.entries()) {
    for (const chunkBytes of [1, 2, 3, 7, 64, 1000, 1 << 20]) {
      for (const maxLineLength of [64, 65536]) {
        await checkFile(bytes, chunkBytes, maxLineLength, f === 0 ? 37 : 0);
      }
    }
  }
});

Deno.test("ByteLines keeps at most one read plus the cut partial line", () => {
  const lines = new ByteLines({ maxLineLength: 8, chunkBytes: 16 });
  const x = encoder.encode("x".repeat(16));
  for (let i = 0; i < 1000; i++) { // a device that never sends a newline
    const space = lines.space();
    space.set(x);
    lines.commit(16);
    assert.equal(lines.next(), false);
    assert.ok(lines.buffer.length <= 16 + 3 * 8 + 9, `${lines.buffer.length} bytes`);
  }
  const space = lines.space();
  space.set(encoder.encode("yy\nok\n"));
  lines.commit(6);
  assert.equal(lines.next(), true);
  assert.equal(lines.text(), "x".repeat(9));
  assert.equal(lines.next(), true);
  assert.equal(lines.text(), "ok");
  assert.equal(lines.next(), false);
});

Deno.test("ByteLines reads past a lent buffer into spare ones, and keeps 4 given back", () => {
  const lines = new ByteLines({ chunkBytes: 8 });
  /** Reads `text` and returns its complete lines' bytes, lent. */
  const readLent = (text: string) => {
    const n = encoder.encodeInto(text, lines.space()).written;
    lines.commit(n);
    let start = -1, end = 0;
    while (lines.next()) {
      if (start < 0) start = lines.start;
      end = lines.end + 1;
    }
    return { bytes: lines.buffer.subarray(start, end), release: lines.lend() };
  };
  const held = [readLent("a\nb\nc")]; // "c" carried to the next read
  assert.equal(decoder.decode(held[0]!.bytes), "a\nb\n");
  for (let i = 0; i < 6; i++) held.push(readLent(`${i}\n${i}${i}\nc`));
  assert.equal(decoder.decode(held[1]!.bytes), "c0\n00\n");
  const buffers = new Set(held.map((h) => h.bytes.buffer));
  assert.equal(buffers.size, 7, "a read into a lent buffer");
  held.slice(1).forEach((h, i) => assert.equal(decoder.decode(h.bytes), `c${i}\n${i}${i}\n`));
  // Given back in any order, one twice: four are kept (3, 0, 5, 1), the one read into (6)
  // stays, the others are left to the garbage collector.
  for (const i of [3, 0, 5, 1, 1, 2, 6, 4]) held[i]!.release();
  const reused: ArrayBufferLike[] = [];
  const kept: Uint8Array[] = [];
  for (let i = 0; i < 20; i++) {
    const h = readLent(`${i % 10}\nc`);
    assert.equal(decoder.decode(h.bytes), `c${i % 10}\n`);
    if (reused.at(-1) !== h.bytes.buffer) reused.push(h.bytes.buffer);
    if (i % 2 === 0) h.release(); // half given back at once, half never (dropped)
    else kept.push(h.bytes);
  }
  kept.forEach((bytes, k) => assert.equal(decoder.decode(bytes), `c${(2 * k + 1) % 10}\n`));
  // Each buffer read into twice (given back, then kept): the one read into and the four kept,
  // then, once no spare is left, a new one for each never given back.
  assert.equal(reused.length, 10);
  assert.deepStrictEqual(reused.slice(0, 5), [6, 1, 5, 0, 3].map((i) => held[i]!.bytes.buffer));
  assert.ok(reused.slice(5).every((b) => !buffers.has(b)));
  assert.equal(lines.next(), false);
});

Deno.test("FileSource following a JSONL file joins a line written in two parts", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  const abort = new AbortController();
  const line = (t: number) => `{"timestamp":${t},"machine":"m1","t":${t}.5}`;
  try {
    const second = line(1000);
    Deno.writeTextFileSync(path, `${line(0)}\n${second.slice(0, 20)}`);
    const source = new FileSource(path, {
      format: "json",
      follow: true,
      followMs: 5,
      signal: abort.signal,
    });
    const reader = source.readable.getReader();
    const first = await reader.read();
    assert.deepStrictEqual(first.value?.readings.map((r) => r.channels), [{ t: 0.5 }]);
    // The rest of the second line and a last line without its newline, then the end.
    Deno.writeTextFileSync(path, `${second.slice(20)}\n${line(2000)}`, { append: true });
    const next = await reader.read();
    assert.deepStrictEqual(next.value?.readings.map((r) => r.channels), [{ t: 1000.5 }]);
    abort.abort();
    const last = await reader.read();
    assert.deepStrictEqual(last.value?.readings.map((r) => r.channels), [{ t: 2000.5 }]);
    assert.equal((await reader.read()).done, true);
    assert.equal(source.lines, 3);
  } finally {
    abort.abort();
    Deno.removeSync(path);
  }
});
