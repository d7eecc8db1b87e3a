/**
 * The normalised JSON line of a reading, as `stream_output.jsonl` stores it.
 * @module
 */
import type { Reading } from "./types.ts";

// Strings that need no JSON escaping can be quoted as they are; checking is cheaper than
// JSON.stringify on the hot path of replay, where millions of readings are written.
const PLAIN = /^[\w .:\-/+@#]*$/;

/** `s` as a JSON string literal. */
export function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/**
 * `{"timestamp":"<ISO>","machine":"m1","status":"RUNNING",<channels…>[,"injected":"spike"]}`:
 * no spaces, channels in their order, `status` null when absent.
 */
export function formatReading(r: Reading): string {
  let s = `{"timestamp":"${new Date(r.timestamp).toISOString()}","machine":${
    jsonString(r.machine)
  },"status":${r.status === null ? "null" : jsonString(r.status)}`;
  for (const name in r.channels) s += `,${jsonString(name)}:${r.channels[name]}`;
  if (r.injected !== undefined) s += `,"injected":${jsonString(r.injected)}`;
  return s + "}";
}
