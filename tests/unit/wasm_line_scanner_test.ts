/**
 * `WasmLineScanner` (the WASM bulk scanner of canonical JSONL lines) against its specification,
 * `JsonLineScanner.scanLineInto` with `canonical` true: it takes a line only where the JS scanner
 * takes it as canonical (ending `}\n`, within maxLineLength), and then appends exactly the same
 * columns (every column; values with Object.is). Lines: writeReading's lines of varied readings
 * (all of which it must take), and mutations of them (which it must decline or read the same).
 */
import assert from "node:assert/strict";
import { WasmLineScanner } from "../../engine/formats/wasm_line_scanner.ts";
import { JsonLineScanner } from "../../engine/formats/json_line_scanner.ts";
import { ReadingColumns } from "../../engine/core/reading_columns.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { writeReading } from "../../engine/formats/reading_format.ts";
import type { Reading } from "../../engine/core/types.ts";
import { prng } from "../helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The line writeReading writes of `r`, with its `\n`. */
function written(r: Reading): string {
  const out = new ByteText();
  writeReading(r, out);
  return decoder.decode(out.bytes());
}

/** Where `a` and `b` differ (every column, values with Object.is), or null. */
function difference(a: ReadingColumns, b: ReadingColumns): string | null {
  if (a.length !== b.length || a.entries !== b.entries) {
    return `length ${a.length}/${b.length}, entries ${a.entries}/${b.entries}`;
  }
  if ((a.injected === null) !== (b.injected === null)) return "injected column";
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a.time[i], b.time[i])) return `time ${i}: ${a.time[i]} / ${b.time[i]}`;
    if (a.machine[i] !== b.machine[i]) return `machine ${i}`;
    if (a.status[i] !== b.status[i]) return `status ${i}: ${a.status[i]} / ${b.status[i]}`;
    if (a.injected?.[i] !== b.injected?.[i]) return `injected ${i}`;
    if (a.first[i + 1] !== b.first[i + 1]) return `first ${i + 1}`;
  }
  for (let e = 0; e < a.entries; e++) {
    if (a.key[e] !== b.key[e]) return `key ${e}: ${a.key[e]} / ${b.key[e]}`;
    if (!Object.is(a.value[e], b.value[e])) return `value ${e}: ${a.value[e]} / ${b.value[e]}`;
  }
  return null;
}

/**
 * Checks one line (with its newline, if any) on both scanners: the WASM one may take it only
 * where the JS one takes it as canonical, and then with the same columns. Returns whether the
 * WASM scanner took it, and whether the JS one took it as canonical.
 */
function compare(
  wasm: WasmLineScanner,
  js: JsonLineScanner,
  line: string,
  maxLineLength = 65536,
): { wasm: boolean; canonical: boolean } {
  const bytes = encoder.encode("..." + line);
  const a = new ReadingColumns(4), b = new ReadingColumns(4);
  const taken = wasm.scanInto(bytes, 3, bytes.length, 8192, a);
  const jsTook = js.scanLineInto(bytes, 3, bytes.length, b);
  // JsonLineScanner calls a line ending `}\r\n` canonical too, and one with a DEL (0x7f) in a
  // key or label: the WASM one declines those (strings of 0x20–0x7e only).
  const canonical = jsTook && js.canonical && bytes[js.lineEnd - 1] === 0x7d &&
    js.lineEnd - 3 <= maxLineLength && !line.includes("\x7f");
  const where = JSON.stringify(line);
  assert.ok(taken === 0 || taken === 1, where);
  if (taken === 1) {
    assert.ok(
      canonical,
      `the WASM scanner took a line the JS one does not call canonical: ${where}`,
    );
    assert.equal(difference(a, b), null, where);
    assert.equal(wasm.end, js.lineEnd + 1, where);
  } else {
    assert.equal(a.length, 0, where);
    assert.equal(a.entries, 0, where);
    assert.equal(wasm.end, 3, where);
  }
  return { wasm: taken === 1, canonical };
}

const STATUSES = ["RUNNING", "STARTED", "IDLE", "WARNING_TEMP", "A", "Z9_", "A".repeat(32)];
const KEYS = [
  "temperature",
  "speed",
  "vibration",
  "t",
  "",
  "a b",
  "x-1",
  "Ünï".normalize("NFD").replace(/[^\x20-\x7e]/g, "u"),
  "__proto_",
  "proto__",
  "a1",
  "_1",
  "k".repeat(40),
  "toString",
  "injectedx",
  "status_",
];
const MACHINES = ["m1", "press-7", "a b", "x", "M".repeat(128), "{}", "a:b,c", "~!@#$%^&*()"];
const TIMES = [
  "0000-01-01T00:00:00.000Z",
  "0000-02-29T12:00:00.000Z",
  "0000-12-31T23:59:59.999Z",
  "1900-02-28T23:59:59.999Z",
  "1900-03-01T00:00:00.000Z",
  "1969-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00.000Z",
  "2000-02-29T00:00:00.001Z",
  "2024-02-29T06:30:15.250Z",
  "2026-01-31T10:00:00.000Z",
  "2026-04-30T10:00:00.000Z",
  "2026-06-30T23:59:59.999Z",
  "2026-12-31T23:59:59.999Z",
  "2400-02-29T00:00:00.000Z",
  "9999-12-31T23:59:59.999Z",
].map((t) => Date.parse(t));

/** A value of one of the kinds a file holds; NaN for none (the channel is left out). */
function randomValue(rand: () => number): number {
  const sign = rand() < 0.3 ? -1 : 1;
  switch (Math.floor(rand() * 12)) {
    case 0:
      return sign * Math.round(rand() * 100000) / 100;
    case 1:
      return sign * Math.floor(rand() * 1e6);
    case 2:
      return sign * Number((rand() * 10 ** Math.floor(rand() * 15)).toPrecision(15));
    case 3:
      return sign * Number((rand() * 1e-5).toPrecision(1 + Math.floor(rand() * 15)));
    case 4:
      return sign * [1e-6, 9.99e-7, 1.000001e-6, 0.000001, 1e-7, 5e-324][Math.floor(rand() * 6)]!;
    case 5:
      return sign * [0, 1, 1e15, 999999999999999, 1e21, 1e22, 123456789012345.6][
        Math.floor(rand() * 7)
      ]!;
    case 6:
      return sign * rand() * 1000; // 17 digits: not canonical
    case 7:
      return sign * Number((rand() * 1e15).toFixed(0));
    case 8:
      return sign * Number((rand() * 100).toFixed(Math.floor(rand() * 14)));
    case 9:
      return -0;
    default:
      return sign * Math.round(rand() * 10000) / 10;
  }
}

/** Readings of every kind writeReading writes, and their lines. */
function readings(count: number, seed: number): Reading[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: Reading[] = [];
  for (let i = 0; i < count; i++) {
    const timestamp = rand() < 0.3
      ? pick(TIMES)
      : Math.floor(rand() * 2 ** 40) + (rand() < 0.5 ? 1.7e12 : 0);
    const machine = rand() < 0.7 ? `m${1 + Math.floor(rand() * 300)}` : pick(MACHINES);
    const status = rand() < 0.3 ? null : pick(STATUSES);
    const channels: Record<string, number> = {};
    const n = Math.floor(rand() * 9);
    for (let c = 0; c < n; c++) channels[rand() < 0.6 ? KEYS[c]! : pick(KEYS)] = randomValue(rand);
    const r: Reading = { timestamp, machine, status, channels };
    if (rand() < 0.15) r.injected = pick(["bearing_wear", "", "a b", "x".repeat(200)]);
    out.push(r);
  }
  return out;
}

Deno.test("WasmLineScanner takes writeReading's lines exactly as JsonLineScanner reads them", () => {
  const wasm = new WasmLineScanner(), js = new JsonLineScanner();
  let taken = 0, declined = 0;
  for (const r of readings(30000, 1)) {
    const line = written(r);
    const { wasm: took, canonical } = compare(wasm, js, line);
    // Every canonical line is taken: within the table's bounds, declining is for the rest.
    assert.equal(took, canonical, line);
    if (took) taken++;
    else declined++;
  }
  assert.ok(taken > 12000 && declined > 10000, `${taken} taken, ${declined} declined`);
});

/** The mutations of a canonical line (without its newline) a test tries. */
function mutations(line: string, rand: () => number): string[] {
  const out: string[] = [];
  const at = () => 1 + Math.floor(rand() * (line.length - 1));
  const BYTES = ' "\\,:{}0123456789.-+eE\tnulTZ\x7f\x1fa\u00e9';
  for (let k = 0; k < 6; k++) {
    const i = at();
    const c = BYTES[Math.floor(rand() * BYTES.length)]!;
    out.push(line.slice(0, i) + c + line.slice(i + 1) + "\n"); // replaced
    out.push(line.slice(0, i) + c + line.slice(i) + "\n"); // inserted
    out.push(line.slice(0, i) + line.slice(i + 1) + "\n"); // removed
  }
  out.push(line + "\r\n", line + " \n", " " + line + "\n", line, line + "\n\n");
  out.push(line.replace(/"machine":"(.)/, '"machine":"\\u0041$1') + "\n");
  out.push(line.replace(/"machine":"/, '"machine":"\u00e9') + "\n");
  out.push(line.replace(/"machine":"/, '"machine":"\\"') + "\n");
  const members = line.slice(1, -1).split(/,(?=")/);
  if (members.length > 3) {
    const channel = members[3]!;
    out.push(`{${[...members, channel].join(",")}}\n`); // a key twice
    out.push(`{${[...members.slice(0, 3), ...members.slice(3).reverse()].join(",")}}\n`);
    out.push(`{${[members[1], members[0], ...members.slice(2)].join(",")}}\n`);
    out.push(`{${[members[0], members[2], members[1], ...members.slice(3)].join(",")}}\n`);
    for (
      const v of [
        "-0",
        "0",
        "1.50",
        "01",
        "-01",
        "1e5",
        "1E5",
        "1.5e-7",
        "1234567890123456",
        "123456789012345",
        "0.1234567890123456",
        "0.000001",
        "0.0000009",
        "-0.000001",
        "1.",
        ".5",
        "-",
        "+1",
        "0.0",
        "1.0",
        "00",
        "null",
        "true",
        '"1"',
        "[1]",
        "1 ",
      ]
    ) out.push(`{${[...members.slice(0, 3), channel.replace(/:.*/, ":" + v)].join(",")}}\n`);
    for (const k of ["__proto__", "1a", "0", "timestamp", "machine", "status", "injected"]) {
      out.push(`{${[...members.slice(0, 3), channel.replace(/^"[^"]*"/, `"${k}"`)].join(",")}}\n`);
    }
  }
  for (
    const t of [
      "2026-02-29T00:00:00.000Z",
      "2025-02-29T00:00:00.000Z",
      "1900-02-29T00:00:00.000Z",
      "2026-04-31T00:00:00.000Z",
      "2026-13-01T00:00:00.000Z",
      "2026-00-01T00:00:00.000Z",
      "2026-01-00T00:00:00.000Z",
      "2026-01-01T24:00:00.000Z",
      "2026-01-01T23:60:00.000Z",
      "2026-01-01T23:59:60.000Z",
      "2026-01-01T00:00:00Z",
      "2026-01-01T00:00:00.0Z",
      "2026-01-01T00:00:00.000+00:00",
      "2026-01-01 00:00:00.000Z",
      "+002026-01-01T00:00:00.000Z",
      "2026-1-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000z",
    ]
  ) out.push(line.replace(/"timestamp":"[^"]*"/, `"timestamp":"${t}"`) + "\n");
  for (const m of ["", " m1", "m1 ", "M".repeat(129), "a\u007fb"]) {
    out.push(line.replace(/"machine":"[^"]*"/, `"machine":"${m}"`) + "\n");
  }
  for (const s of ["running", "RUNNING ", "A".repeat(33), "1A", "_A", "", "WARN-1"]) {
    out.push(line.replace(/"status":(null|"[^"]*")/, `"status":"${s}"`) + "\n");
  }
  out.push(line.replace(/"status":(null|"[^"]*")/, `"status":null`) + "\n");
  out.push(line.replace(/}$/, ',"injected":"x"}') + "\n");
  out.push(line.replace(/}$/, ',"injected":5}') + "\n");
  out.push(line.replace(/}$/, ',"injected":"x","t9":1}') + "\n");
  return out;
}

Deno.test("WasmLineScanner declines a changed line or reads it as JsonLineScanner does", () => {
  const rand = prng(7);
  const js = new JsonLineScanner();
  let wasm = new WasmLineScanner();
  let taken = 0, declined = 0, canonicalDeclined = 0;
  for (const [k, r] of readings(2000, 2).entries()) {
    // A fresh table now and then: the changed strings would fill one (a line with a new string
    // is then declined, as the last test checks).
    if (k % 500 === 0) wasm = new WasmLineScanner();
    const line = written(r).slice(0, -1);
    for (const m of mutations(line, rand)) {
      const { wasm: took, canonical } = compare(wasm, js, m);
      if (took) taken++;
      else if (canonical) canonicalDeclined++;
      else declined++;
    }
  }
  // Most changed lines are not canonical; those that are (a space for a space…) are taken.
  assert.equal(canonicalDeclined, 0);
  assert.ok(taken > 10000 && declined > 100000, `${taken} taken, ${declined} declined`);
});

Deno.test("WasmLineScanner declines a line longer than maxLineLength", () => {
  const js = new JsonLineScanner();
  const line = written({
    timestamp: 0,
    machine: "m1",
    status: null,
    channels: { t: 1.5 },
  });
  const length = line.length - 1; // without its `\n`
  for (const max of [length - 1, length, length + 1]) {
    const wasm = new WasmLineScanner({ maxLineLength: max });
    const { wasm: took } = compare(wasm, js, line, max);
    assert.equal(took, max >= length, `maxLineLength ${max}`);
  }
  // A long line across the pieces the host copies (64 KiB): taken whole or declined.
  const long = written({
    timestamp: 0,
    machine: "m1",
    status: null,
    channels: Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`c${k}`, k + 0.5])),
    injected: "y".repeat(250),
  });
  for (const max of [long.length - 2, long.length - 1]) {
    const wasm = new WasmLineScanner({ maxLineLength: max });
    const lines = long.repeat(2000); // ~2 MiB: many pieces, lines cut at their ends
    const bytes = encoder.encode(lines);
    const columns = new ReadingColumns();
    const n = wasm.scanInto(bytes, 0, bytes.length, 1e9, columns);
    assert.equal(n, max >= long.length - 1 ? 2000 : 0, `maxLineLength ${max}`);
    assert.equal(wasm.end, n === 0 ? 0 : bytes.length);
  }
});

Deno.test("WasmLineScanner declines a time of 24 NUL bytes, first or after a time it read", () => {
  const nul = `{"timestamp":"${"\0".repeat(24)}","machine":"m1","status":null,"t":1}\n`;
  const good = written({ timestamp: 0, machine: "m1", status: null, channels: { t: 1 } });
  // Before any time was read (its cache of the last time's bytes is then all zeros), and after.
  for (const lines of [[nul], [good, nul]]) {
    const bytes = encoder.encode(lines.join(""));
    const n = new WasmLineScanner().scanInto(bytes, 0, bytes.length, 10, new ReadingColumns());
    assert.equal(n, lines.length - 1, JSON.stringify(lines));
  }
});

/** `lines` joined, as bytes, with the offset where each line starts (and the end). */
function buffer(lines: readonly string[]): { bytes: Uint8Array; starts: number[] } {
  const starts: number[] = [];
  let at = 0;
  for (const l of lines) {
    starts.push(at);
    at += encoder.encode(l).length;
  }
  starts.push(at);
  return { bytes: encoder.encode(lines.join("")), starts };
}

/** JsonLineScanner's columns of the canonical lines `[from, to)` of `lines`. */
function expected(lines: readonly string[], from: number, to: number): ReadingColumns {
  const js = new JsonLineScanner();
  const columns = new ReadingColumns();
  const { bytes, starts } = buffer(lines.slice(from, to));
  for (let k = 0; k < to - from; k++) {
    assert.ok(js.scanLineInto(bytes, starts[k]!, bytes.length, columns) && js.canonical);
  }
  return columns;
}

Deno.test("WasmLineScanner.scanInto takes lines up to the first it declines, maxLines, or the limit", () => {
  const w = new WasmLineScanner(), js = new JsonLineScanner();
  const canonical = readings(60000, 3).map(written).filter((l) => compare(w, js, l).wasm);
  assert.ok(canonical.length > 25000, `${canonical.length}`);
  const bad = '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":-0}\n';
  // Lines, then a declined one, then more lines: across pieces and scan calls (more than 8,192
  // lines and 65,536 entries a call), from an offset.
  const lines = [...canonical.slice(0, 20000), bad, ...canonical.slice(20000)];
  const { bytes, starts } = buffer(lines);
  const wasm = new WasmLineScanner();
  let columns = new ReadingColumns();
  let n = wasm.scanInto(bytes, 0, bytes.length, 1e9, columns);
  assert.equal(n, 20000);
  assert.equal(wasm.end, starts[20000]);
  assert.equal(difference(columns, expected(lines, 0, 20000)), null);
  // Nothing at the declined line; then the rest, appended to columns that hold readings.
  assert.equal(wasm.scanInto(bytes, starts[20000]!, bytes.length, 1e9, columns), 0);
  assert.equal(wasm.end, starts[20000]);
  columns = new ReadingColumns();
  columns.push({ timestamp: 1, machine: "pre", status: null, channels: { a: 1 }, injected: "i" });
  const before = new ReadingColumns();
  before.push({ timestamp: 1, machine: "pre", status: null, channels: { a: 1 }, injected: "i" });
  n = wasm.scanInto(bytes, starts[20001]!, bytes.length, 1e9, columns);
  assert.equal(n, lines.length - 20001);
  assert.equal(wasm.end, bytes.length);
  const rest = expected(lines, 20001, lines.length);
  for (let i = 0; i < rest.length; i++) before.push(rest.reading(i));
  assert.equal(difference(columns, before), null);
  // A limit past the buffer is its end.
  columns = new ReadingColumns();
  assert.equal(wasm.scanInto(bytes, starts[20001]!, bytes.length + 100, 1e9, columns), n);
  assert.throws(() => wasm.scanInto(bytes, -1, bytes.length, 1, columns), /start -1 < 0/);
  // maxLines, and a limit inside a line (only the complete lines before it).
  for (const max of [0, 1, 7, 8192, 8193, 20000]) {
    columns = new ReadingColumns();
    assert.equal(wasm.scanInto(bytes, 0, bytes.length, max, columns), max);
    assert.equal(wasm.end, starts[max]);
    assert.equal(difference(columns, expected(lines, 0, max)), null);
  }
  for (const k of [0, 1, 100, 9000]) {
    for (const cut of [starts[k]! + 1, starts[k + 1]! - 1, starts[k + 1]!]) {
      columns = new ReadingColumns();
      const m = cut === starts[k + 1] ? k + 1 : k;
      assert.equal(wasm.scanInto(bytes, 0, cut, 1e9, columns), m, `limit ${cut}`);
      assert.equal(wasm.end, starts[m]);
      assert.equal(difference(columns, expected(lines, 0, m)), null);
    }
  }
});

Deno.test("WasmLineScanner declines a line with a new string once its table is full", () => {
  const wasm = new WasmLineScanner({ maxStrings: 6, maxStringBytes: 8 });
  const js = new JsonLineScanner();
  const line = (machine: string, key: string) =>
    `{"timestamp":"2026-01-01T00:00:00.000Z","machine":"${machine}","status":"IDLE","${key}":1}\n`;
  // m1, IDLE, t: 3 strings; then m2, m3, m4 fill the table (6).
  for (const m of ["m1", "m2", "m3", "m4"]) assert.ok(compare(wasm, js, line(m, "t")).wasm, m);
  assert.equal(wasm.strings, 6);
  // A new machine, or a new key: declined (the JS scanner takes them); known ones still taken.
  assert.equal(compare(wasm, js, line("m5", "t")).wasm, false);
  assert.equal(compare(wasm, js, line("m1", "u")).wasm, false);
  assert.ok(compare(wasm, js, line("m3", "t")).wasm);
  assert.equal(wasm.strings, 6);
  // A string longer than maxStringBytes: declined, and not counted.
  const other = new WasmLineScanner({ maxStringBytes: 8 });
  assert.ok(compare(other, js, line("m1", "abcdefgh")).wasm);
  assert.equal(compare(other, js, line("m1", "abcdefghi")).wasm, false);
  assert.equal(compare(other, js, line("123456789", "t")).wasm, false);
  assert.equal(other.strings, 3);
  assert.throws(() => new WasmLineScanner({ maxStrings: 0 }), /maxStrings must be an integer/);
});

Deno.test("WasmLineScanner takes a line of 64 keys, as JsonLineScanner's MAX_KEYS, and declines 65", () => {
  const wasm = new WasmLineScanner();
  const js = new JsonLineScanner();
  // timestamp, machine, status, then channels (and `injected`): 64 keys in all, then 65.
  const line = (channels: number, injected: boolean) =>
    written({
      timestamp: 0,
      machine: "m1",
      status: null,
      channels: Object.fromEntries(Array.from({ length: channels }, (_, k) => [`c${k}`, k])),
      ...(injected ? { injected: "x" } : {}),
    });
  for (const [channels, injected] of [[61, false], [60, true], [62, false], [61, true]] as const) {
    const { wasm: took, canonical } = compare(wasm, js, line(channels, injected));
    const keys = 3 + channels + (injected ? 1 : 0);
    assert.equal(canonical, keys <= 64, `${keys} keys: JsonLineScanner`);
    assert.equal(took, keys <= 64, `${keys} keys`);
  }
});

Deno.test("WasmLineScanner reads on as its memory grows under new strings (its views follow)", () => {
  // 8,000 new machine ids of 120 bytes in one call: about 960 KB of strings, past the arena's
  // first allocation, so the module's memory grows in the middle of the call.
  const lines = Array.from({ length: 8000 }, (_, i) =>
    written({
      timestamp: i * 1000,
      machine: `m${String(i).padStart(119, "0")}`,
      status: "RUNNING",
      channels: { t: i / 4 },
    }));
  const { bytes } = buffer(lines);
  const wasm = new WasmLineScanner();
  const before = wasm.memoryBytes;
  const columns = new ReadingColumns();
  assert.equal(wasm.scanInto(bytes, 0, bytes.length, 1e9, columns), lines.length);
  assert.ok(wasm.memoryBytes > before, "the module's memory did not grow: the test tests nothing");
  assert.equal(difference(columns, expected(lines, 0, lines.length)), null);
  assert.equal(wasm.strings, 8000 + 2); // the machines, "RUNNING" and "t"
});

Deno.test("WasmLineScanner takes a line longer than its first piece; declined says why a scan stopped", () => {
  // 40 keys of 200 bytes: a line of about 8.5 KB, past the 4 KiB the host copies first.
  const long = written({
    timestamp: 0,
    machine: "m1",
    status: null,
    channels: Object.fromEntries(
      Array.from({ length: 40 }, (_, k) => [`${"k".repeat(196)}${1000 + k}`, k + 0.5]),
    ),
  });
  assert.ok(long.length > 8000);
  const wasm = new WasmLineScanner();
  const lines = [long, long];
  const { bytes } = buffer(lines);
  const columns = new ReadingColumns();
  assert.equal(wasm.scanInto(bytes, 0, bytes.length, 10, columns), 2);
  assert.equal(difference(columns, expected(lines, 0, 2)), null);
  assert.equal(wasm.declined, false, "stopped at the end of the lines");
  // Stopped by a line it declines, by maxLines, at the end.
  const good = written({ timestamp: 0, machine: "m1", status: null, channels: { t: 1 } });
  const bad = good.replace(":1}", ":1.50}");
  const mixed = buffer([good, bad, good]).bytes;
  assert.equal(wasm.scanInto(mixed, 0, mixed.length, 10, new ReadingColumns()), 1);
  assert.equal(wasm.declined, true);
  assert.equal(wasm.scanInto(mixed, 0, mixed.length, 1, new ReadingColumns()), 1);
  assert.equal(wasm.declined, false, "stopped at maxLines");
});
