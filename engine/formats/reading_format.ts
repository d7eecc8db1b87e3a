/**
 * The normalised JSON line of a reading, as `stream_output.jsonl` stores it.
 * @module
 */
import type { Reading } from "../core/types.ts";
import { BytesCache, type ByteText } from "./byte_text.ts";

// JSON string literals of the machine ids, statuses and channel names seen so far: a handful of
// distinct short strings repeated millions of times, so a map lookup beats escaping each time
// (measured: together with the number formatting below, ~1.7× faster lines than escaping or
// testing each string on every call). Bounded so arbitrary input cannot grow it without limit.
const QUOTED_CAPACITY = 65_536;
const quoted = new Map<string, string>();

function quote(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < QUOTED_CAPACITY) quoted.set(s, q);
  }
  return q;
}

/**
 * `String(v)` for a finite number, faster for the simulator's 2-decimal values. When `v` is
 * exactly the double nearest k/100 (and far below 2^53/100), the shortest round-tripping decimal
 * that JavaScript prints is k/100's own 2-decimal form without trailing zeros, which integer
 * arithmetic builds; anything else (more decimals, huge, non-finite) takes `String`.
 */
function formatNumber(v: number): string {
  const k = Math.round(v * 100);
  if (k / 100 !== v || k > 1e15 || k < -1e15) return Number.isFinite(v) ? String(v) : "null";
  const a = k < 0 ? -k : k;
  const int = Math.floor(a / 100);
  const frac = a - int * 100;
  const s = frac === 0
    ? "" + int
    : frac % 10 === 0
    ? int + "." + frac / 10
    : frac < 10
    ? int + ".0" + frac
    : int + "." + frac;
  return k < 0 ? "-" + s : s;
}

// Readings come in ticks that share one timestamp, and toISOString is the costliest step, so
// the last conversion is reused.
let lastTime = NaN;
let lastIso = "";

/**
 * The normalised JSON line of a reading, without the newline:
 * `{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":"RUNNING","temperature":25.7,"speed":1500}`
 * — no spaces, `status` `null` when absent, channels in their order, then `"injected":"…"` only
 * when present; the same bytes as `JSON.stringify` of those fields in that order (a test checks
 * it), built by string concatenation with cached string literals and integer-based number
 * formatting, because replay writes one line per reading. A non-finite channel value (which a `Reading` never holds) is written `null`, as
 * JSON.stringify would, so the line is always valid JSON.
 */
export function formatReading(r: Reading): string {
  if (r.timestamp !== lastTime) {
    lastIso = new Date(r.timestamp).toISOString();
    lastTime = r.timestamp;
  }
  let s = '{"timestamp":"' + lastIso + '","machine":' + quote(r.machine) + ',"status":' +
    (r.status === null ? "null" : quote(r.status));
  const channels = r.channels;
  for (const name in channels) {
    s += "," + quote(name) + ":" + formatNumber(channels[name]!);
  }
  if (r.injected !== undefined) s += ',"injected":' + quote(r.injected);
  return s + "}";
}

const jsonQuoted = new BytesCache((s) => JSON.stringify(s));
// A line is a handful of cached pieces: `{"timestamp":"<iso>","machine":` (per time),
// `"<machine>","status":` (per machine), the status, then `,"<name>":` and the value per channel.
const machinePieces = new BytesCache((s) => JSON.stringify(s) + ',"status":');
const channelKeys = new BytesCache((name) => "," + JSON.stringify(name) + ":");
const encoder = new TextEncoder();
const ascii = (s: string) => encoder.encode(s);
const NULL = ascii("null");
const INJECTED = ascii(',"injected":');
// The head of the last timestamp written (see `lastTime`).
let headTime = NaN;
let head = new Uint8Array(0);
// The channel names of the last line and their pieces, by position: readings of one source
// have the same channels in the same order, so a name is matched by identity, not looked up.
const lastNames: string[] = [];
const lastKeys: Uint8Array[] = [];

/**
 * Appends {@linkcode formatReading}'s line and a newline to `out`, the same bytes, built
 * without a string per line: replay's `stream_output.jsonl` (a test checks the two agree).
 *
 * @example
 * ```ts
 * const out = new ByteText();
 * writeReading({ timestamp: 0, machine: "m1", status: null, channels: { speed: 1500 } }, out);
 * new TextDecoder().decode(out.bytes());
 * // '{"timestamp":"1970-01-01T00:00:00.000Z","machine":"m1","status":null,"speed":1500}\n'
 * ```
 */
export function writeReading(r: Reading, out: ByteText): void {
  if (r.timestamp !== headTime) {
    head = ascii(
      '{"timestamp":"' + new Date(r.timestamp).toISOString() + '","machine":',
    );
    headTime = r.timestamp;
  }
  out.raw(head);
  out.raw(machinePieces.get(r.machine));
  out.raw(r.status === null ? NULL : jsonQuoted.get(r.status));
  const channels = r.channels;
  let i = 0;
  for (const name in channels) {
    let key = lastKeys[i];
    if (lastNames[i] !== name || key === undefined) {
      key = channelKeys.get(name);
      lastNames[i] = name;
      lastKeys[i] = key;
    }
    i++;
    out.raw(key);
    const v = channels[name]!;
    if (Number.isFinite(v)) out.number(v);
    else out.raw(NULL);
  }
  if (r.injected !== undefined) {
    out.raw(INJECTED);
    out.raw(jsonQuoted.get(r.injected));
  }
  out.byte(125); // "}"
  out.byte(10);
}
