/**
 * `BatchTextBuilder`: a batch's `stream_output.jsonl` lines, copied runs and formatted readings in
 * order, and its buffers reused only once released.
 */
import assert from "node:assert/strict";
import { BatchTextBuilder } from "../../engine/sources/file/batch_text.ts";
import type { Batch } from "../../engine/core/batch.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const batch = (suppress = false, log = true): Batch => ({
  readings: [],
  errors: [],
  lines: 0,
  suppress,
  log,
});

Deno.test("BatchTextBuilder: copied runs and formatted readings, in order, per batch", () => {
  const input = encoder.encode("A\nB\nskipped\nC\n");
  const texts = new BatchTextBuilder();
  const first = batch(), second = batch();
  texts.open(first);
  texts.copy(input, 0, 2); // A
  texts.copy(input, 2, 4); // B: the same run
  texts.format({ timestamp: 0, machine: "m1", status: null, channels: { t: 1.5 } });
  texts.copy(input, 12, 14); // C: a run of its own
  texts.open(second); // closes the first
  texts.copy(input, 0, 2);
  texts.close();
  assert.equal(
    decoder.decode(first.text!.bytes),
    'A\nB\n{"timestamp":"1970-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1.5}\nC\n',
  );
  assert.equal(decoder.decode(second.text!.bytes), "A\n");
});

Deno.test("BatchTextBuilder: no text for batches that write nothing", () => {
  const texts = new BatchTextBuilder();
  const history = batch(true), unlogged = batch(false, false);
  for (const b of [history, unlogged]) {
    texts.open(b);
    texts.copy(encoder.encode("A\n"), 0, 2);
    texts.close();
    assert.equal(b.text, undefined);
  }
});

Deno.test("BatchTextBuilder: a buffer is reused only after its batch released it, once", () => {
  const texts = new BatchTextBuilder();
  // Lines of 300,000 bytes: a text that large stays in its buffer until released.
  const line = (s: string) => encoder.encode(s.repeat(300_000) + "\n");
  const make = (s: string) => {
    const b = batch();
    texts.open(b);
    const bytes = line(s);
    texts.copy(bytes, 0, bytes.length);
    texts.close();
    return b;
  };
  const a = make("a");
  a.text!.release();
  a.text!.release(); // twice: still one spare buffer
  const b = make("b"); // takes a's buffer
  const c = make("c"); // a new one: b holds the spare
  assert.equal(decoder.decode(b.text!.bytes), "b".repeat(300_000) + "\n");
  assert.equal(decoder.decode(c.text!.bytes), "c".repeat(300_000) + "\n");
  assert.equal(b.text!.bytes.buffer, a.text!.bytes.buffer);
  assert.notEqual(c.text!.bytes.buffer, b.text!.bytes.buffer);
});

Deno.test("BatchTextBuilder: small batches waiting to be written hold only their own bytes", () => {
  // A paced replay cuts one read into thousands of batches of a reading or two, all queued.
  const texts = new BatchTextBuilder();
  const held: Batch[] = [];
  for (let i = 0; i < 2000; i++) {
    const b = batch();
    texts.open(b);
    const bytes = encoder.encode(`line ${i}\n`);
    texts.copy(bytes, 0, bytes.length);
    texts.close();
    held.push(b); // never released: still waiting
  }
  const buffers = new Set(held.map((b) => b.text!.bytes.buffer));
  let total = 0;
  for (const buffer of buffers) total += buffer.byteLength;
  assert.ok(total < 1 << 20, `${total} bytes held for 2,000 short lines`);
  held.forEach((b, i) => assert.equal(decoder.decode(b.text!.bytes), `line ${i}\n`));
});
