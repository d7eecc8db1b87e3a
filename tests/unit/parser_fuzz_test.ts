/**
 * Every parser of readings fed generated junk and extreme values: no throw escapes, a bad line
 * is an error text with a reason, and a reading it lets through can be written by every output
 * (an out-of-range time used to pass and crash `toISOString` downstream).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parquetWriteBuffer } from "npm:hyparquet-writer@0.17.0";
import {
  type Batch,
  createLineParser,
  formatRawLine,
  formatReading,
  ParquetSource,
  type ParseResult,
  type Reading,
  structuredMetricsLine,
} from "../../engine/mod.ts";

/** Deterministic PRNG (mulberry32): a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [
  "0",
  "-0",
  "1e308",
  "-1e308",
  "1e999",
  "-1e999",
  "1e20",
  "-1e20",
  "8640000000000000",
  "8640000000000001",
  "-8640000000000001",
  "9007199254740993",
  "123456789012345678901234567890",
  "4.9e-324",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "1_000",
  "",
  " ",
];
const TEXTS = [
  "",
  "NaN",
  "null",
  "true",
  "温度",
  "🔥",
  "\ud800",
  "\u0000",
  "\u202e",
  "a\tb",
  '"',
  "\\",
  "+275760-09-13T00:00:00.001Z",
  "-271821-04-19T23:59:59.999Z",
  "2026-13-45T99:99:99Z",
  "2026-01-01T00:00:00Z",
  "2026-01-01 00:00:00",
  "x".repeat(70_000),
];
const TOKENS = ["{", "}", "[", "]", ":", ",", ";", '"', "=", "T", "V", "S", "M", "\r", " "];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A JSON-ish value: extreme numbers (as JSON number text), strings, nested junk. */
function jsonValue(r: () => number): string {
  const k = r();
  if (k < 0.45) {
    const n = pick(r, NUMBERS);
    // Non-JSON number texts stay text, so that both the number and the string paths are hit.
    return /^-?\d/.test(n) && !n.includes("_") && !n.startsWith("0x") ? n : JSON.stringify(n);
  }
  if (k < 0.8) return JSON.stringify(pick(r, TEXTS));
  if (k < 0.9) return pick(r, ["null", "true", "[]", "{}", "[1e999]"]);
  return Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(r, TOKENS)).join("");
}

function jsonLine(r: () => number): string {
  if (r() < 0.15) {
    return Array.from({ length: Math.floor(r() * 20) }, () => pick(r, TOKENS)).join("");
  }
  const fields = ["timestamp", "machine", "status", "temperature", "v", "injected", "温度", ""];
  const parts = [];
  for (const f of fields) if (r() < 0.6) parts.push(`${JSON.stringify(f)}:${jsonValue(r)}`);
  return `{${parts.join(",")}}`;
}

function cell(r: () => number): string {
  const v = r() < 0.6 ? pick(r, NUMBERS) : pick(r, TEXTS);
  return r() < 0.2 ? `"${v.replaceAll('"', '""')}"` : v;
}

function kvLine(r: () => number): string {
  const keys = ["T", "V", "S", "M", "X", "", "t"];
  return Array.from(
    { length: Math.floor(r() * 5) },
    () => `${pick(r, keys)}${r() < 0.9 ? ":" : ""}${r() < 0.5 ? pick(r, NUMBERS) : pick(r, TEXTS)}`,
  ).join(r() < 0.9 ? "," : ";");
}

/** Asserts the contract of a parse result and that every output can write a reading. */
function check(result: ParseResult, line: string, where: string): "ok" | "error" | "skip" {
  if (result === null) return "skip";
  if (typeof result === "string") {
    assert.ok(result.trim().length > 0, `${where}: empty reason for ${JSON.stringify(line)}`);
    return "error";
  }
  const reading: Reading = result;
  assert.ok(Number.isFinite(reading.timestamp), `${where}: timestamp ${reading.timestamp}`);
  for (const [k, v] of Object.entries(reading.channels)) {
    assert.ok(Number.isFinite(v), `${where}: channel ${k} = ${v}`);
  }
  // The writers that run on every reading: they threw RangeError for a time out of range.
  JSON.parse(formatReading(reading));
  structuredMetricsLine(reading);
  return "ok";
}

function fuzz(
  name: string,
  parser: { parse(line: string): ParseResult },
  line: (r: () => number) => string,
  seed: number,
  count: number,
) {
  const r = rng(seed);
  const seen = { ok: 0, error: 0, skip: 0 };
  for (let i = 0; i < count; i++) {
    const text = line(r);
    let result: ParseResult;
    try {
      result = parser.parse(text);
    } catch (e) {
      assert.fail(
        `${name} seed ${seed} line ${i} threw ${e}: ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
    seen[check(result, text, `${name} seed ${seed} line ${i}`)]++;
  }
  // A fuzzer that only ever hits one branch tests nothing: both outcomes must occur.
  assert.ok(seen.ok > 0 && seen.error > 0, `${name}: ${JSON.stringify(seen)}`);
}

Deno.test("fuzz: the JSONL parser (replay, MQTT and NATS JSON payloads) never throws", () => {
  fuzz("json", createLineParser("json"), jsonLine, 1, 20_000);
});

Deno.test("fuzz: the CSV parser, on both separators, never throws", () => {
  for (const sep of [",", ";"]) {
    const p = createLineParser("csv");
    p.parse(["timestamp", "machine", "status", "temperature", "温度"].join(sep));
    fuzz(
      `csv${sep}`,
      p,
      (r) => {
        const n = r() < 0.9 ? 5 : Math.floor(r() * 8);
        return Array.from({ length: n }, () => cell(r)).join(sep);
      },
      2,
      20_000,
    );
  }
});

Deno.test("fuzz: the kv parser (serial, MQTT kv payloads) and raw.log never throw", () => {
  fuzz("kv", createLineParser("kv", { now: () => 0 }), kvLine, 3, 20_000);
  fuzz(
    "raw",
    createLineParser("raw"),
    (r) => {
      const time = r() < 0.8 ? "2026-01-01T00:00:00.000Z" : pick(r, TEXTS).slice(0, 40);
      return r() < 0.8 ? `${time} ${JSON.stringify(kvLine(r))}` : `${time} ${kvLine(r)}`;
    },
    4,
    20_000,
  );
  // A real raw.log line of an in-range time still parses.
  const raw = createLineParser("raw").parse(formatRawLine(0, "T:1"));
  assert.equal(typeof raw, "object");
});

Deno.test("a time outside the Date range is a bad line with a reason, in every text format", () => {
  for (const t of ["1e20", "-1e20", "8640000000000001", "1.7976931348623157e308"]) {
    assert.equal(
      createLineParser("json").parse(`{"timestamp":${t},"temperature":1}`),
      `bad timestamp: ${JSON.stringify(Number(t))}`,
    );
  }
  assert.match(
    createLineParser("json").parse('{"timestamp":"100000000000000000000","t":1}') as string,
    /^bad timestamp/,
  );
  const csv = createLineParser("csv");
  csv.parse("timestamp,temperature");
  assert.equal(
    csv.parse("100000000000000000000,1"),
    'bad timestamp: "100000000000000000000"',
  );
  // The edges of the range are times.
  assert.equal(
    (createLineParser("json").parse('{"timestamp":8.64e15,"t":1}') as Reading).timestamp,
    8.64e15,
  );
});

Deno.test("Parquet cells: out-of-range times and non-finite numbers are row errors, not throws", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "junk.parquet");
    const times = [0n, 10n ** 18n, -(10n ** 18n), 8_640_000_000_000_000n, 2n ** 62n, 1000n];
    const values = [1, 1e308, -1e308, NaN, Infinity, 4.9e-324];
    await Deno.writeFile(
      path,
      new Uint8Array(parquetWriteBuffer({
        columnData: [
          { name: "timestamp", type: "INT64", data: times },
          { name: "temperature", type: "DOUBLE", data: values },
        ],
      })),
    );
    const source = await ParquetSource.open(path);
    const batches: Batch[] = [];
    for await (const b of source.readable) batches.push(b);
    const readings = batches.flatMap((b) => b.readings);
    const errors = batches.flatMap((b) => b.errors);
    for (const r of readings) check(r, "", "parquet");
    // Rows 0, 3 (the edge of the range) and 5 have a time a Date holds; row 3's NaN makes it
    // an error.
    assert.deepEqual(readings.map((r) => r.timestamp), [0, 1000]);
    assert.deepEqual(errors.map((e) => e.error), [
      'bad timestamp: "1000000000000000000"',
      'bad timestamp: "-1000000000000000000"',
      "temperature is not finite",
      'bad timestamp: "4611686018427387904"',
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
