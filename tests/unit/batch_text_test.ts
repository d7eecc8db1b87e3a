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

Deno.test("BatchTextBuilder: a batch of one run is given its bytes where they are, lent", () => {
  const input = encoder.encode("A\nB\nskipped\nC\n");
  const lends: { bytes: Uint8Array; released: number }[] = [];
  const texts = new BatchTextBuilder({
    lend: (bytes) => {
      if (bytes !== input) return undefined;
      const lend = { bytes, released: 0 };
      lends.push(lend);
      return () => lend.released++;
    },
  });
  const run = batch(), two = batch(), formatted = batch(), none = batch(), other = batch();
  texts.open(run);
  texts.copy(input, 0, 2);
  texts.copy(input, 2, 4); // the same run
  texts.open(two);
  texts.copy(input, 0, 2);
  texts.copy(input, 12, 14); // a second run: copied
  texts.open(formatted);
  texts.copy(input, 0, 2);
  texts.format({ timestamp: 0, machine: "m1", status: null, channels: { t: 1.5 } });
  texts.open(none); // no line written (all refused): an empty text
  texts.open(other);
  const elsewhere = encoder.encode("D\n");
  texts.copy(elsewhere, 0, 2); // a buffer `lend` cannot keep: copied
  texts.close();
  assert.equal(lends.length, 1);
  assert.equal(run.text!.bytes.buffer, input.buffer);
  assert.equal(decoder.decode(run.text!.bytes), "A\nB\n");
  run.text!.release();
  assert.equal(lends[0]!.released, 1);
  for (const b of [two, formatted, other]) assert.notEqual(b.text!.bytes.buffer, input.buffer);
  assert.equal(decoder.decode(two.text!.bytes), "A\nC\n");
  assert.equal(
    decoder.decode(formatted.text!.bytes),
    'A\n{"timestamp":"1970-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1.5}\n',
  );
  assert.equal(none.text!.bytes.length, 0);
  assert.equal(decoder.decode(other.text!.bytes), "D\n");
});
