/**
 * `FileSource` reading runs of JSONL lines in the written form at once (`WasmLineScanner`)
 * against the same source reading every line with `JsonLineScanner` (`runs: false`): the same
 * batches (lines, `suppress`, every column, `stream_output.jsonl` text, errors) whatever the
 * reads, the batch size, `suppressLines` and `maxLineLength`, with runs cut by lines of every
 * other kind.
 */
import assert from "node:assert/strict";
import { FileSource } from "../../engine/mod.ts";
import type { Batch } from "../../engine/core/batch.ts";
import { ByteText } from "../../engine/formats/byte_text.ts";
import { writeReading } from "../../engine/formats/reading_format.ts";
import type { Reading } from "../../engine/core/types.ts";
import { prng } from "../helpers.ts";

const STATUSES = ["RUNNING", "IDLE", "STARTED", null] as const;

/** `count` readings as writeReading writes them (each line with its newline). */
function writtenLines(count: number, seed: number): string[] {
  const rand = prng(seed);
  const out = new ByteText(1 << 16);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const channels: Record<string, number> = {};
    const n = Math.floor(rand() * 4);
    for (let c = 0; c < n; c++) {
      channels[["temperature", "speed", "voltage", "vibration"][c]!] =
        Math.round((rand() - 0.3) * 1e6) / 100;
    }
    const reading: Reading = {
      timestamp: 1_767_225_600_000 + i * 250 + Math.floor(rand() * 3) * 86_400_000,
      machine: `m${1 + Math.floor(rand() * 40)}`,
      status: STATUSES[Math.floor(rand() * STATUSES.length)]!,
      channels,
    };
    if (rand() < 0.1) reading.injected = "spike";
    out.clear();
    writeReading(reading, out);
    lines.push(new TextDecoder().decode(out.bytes()));
  }
  return lines;
}

/** Lines of other kinds, each of which the fast path must leave to the usual way. */
const OTHER_LINES: readonly string[] = [
  "\n",
  "not json\n",
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1}\r\n',
  '{"timestamp": "2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00Z","machine":"m1","status":null,"t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1.50}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":-0}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"","status":null,"t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":"bad status!","t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m\\u0031","status":null,"t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"t":1,"t":2}\n',
  '{"machine":"m1","timestamp":"2026-01-01T00:00:00.000Z","status":null,"t":1}\n',
  '{"timestamp":"2026-02-30T00:00:00.000Z","machine":"m1","status":null,"t":1}\n',
  '{"timestamp":"2026-01-01T00:00:00.000Z","machine":"mé","status":null,"t":1}\n',
  `{"timestamp":"2026-01-01T00:00:00.000Z","machine":"m1","status":null,"${"k".repeat(90)}":1}\n`,
];

/** Every batch of `path` as comparable values, and the source's counts. */
async function read(
  path: string,
  options: {
    runs: boolean;
    chunkBytes: number;
    batchSize: number;
    suppressLines: number;
    maxLineLength: number;
  },
): Promise<{ batches: unknown[]; lines: number; runLines: number }> {
  const source = new FileSource(path, { format: "json", ...options });
  const batches: unknown[] = [];
  for await (const b of source.readable) {
    batches.push(snapshot(b));
    b.release?.();
  }
  return { batches, lines: source.lines, runLines: source.runLines };
}

/** What a batch carries, copied before its columns are given back. */
function snapshot(b: Batch): unknown {
  const c = b.columns!;
  const n = c.length, k = c.entries;
  return {
    lines: b.lines,
    suppress: b.suppress,
    errors: b.errors,
    text: b.text ? new TextDecoder().decode(b.text.bytes) : undefined,
    time: [...c.time.subarray(0, n)],
    machine: c.machine.slice(0, n),
    status: c.status.slice(0, n),
    injected: c.injected === null ? null : c.injected.slice(0, n),
    first: [...c.first.subarray(0, n + 1)],
    key: c.key.slice(0, k),
    value: [...c.value.subarray(0, k)],
  };
}

Deno.test("FileSource reads runs of written lines at once as it reads them one by one", async () => {
  const rand = prng(11);
  const written = writtenLines(3000, 5);
  // Runs of written lines of random lengths, cut by one or more lines of the other kinds.
  const parts: string[] = [];
  for (let at = 0; at < written.length;) {
    const run = Math.floor(rand() * 200);
    parts.push(...written.slice(at, at + run));
    at += run;
    const others = 1 + Math.floor(rand() * 3);
    for (let o = 0; o < others; o++) {
      parts.push(OTHER_LINES[Math.floor(rand() * OTHER_LINES.length)]!);
    }
  }
  const files = [
    parts.join(""),
    written.join(""),
    written.slice(0, 50).join("") + written[50]!.slice(0, -1), // a last line without newline
  ];
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    let runLines = 0;
    for (const [f, text] of files.entries()) {
      Deno.writeFileSync(path, new TextEncoder().encode(text));
      for (const chunkBytes of [97, 4096, 1 << 20]) {
        for (const batchSize of [7, 8192]) {
          for (const maxLineLength of [80, 65536]) {
            for (const suppressLines of [0, 333]) {
              const options = { chunkBytes, batchSize, suppressLines, maxLineLength };
              const where = `file ${f}, ${JSON.stringify(options)}`;
              const slow = await read(path, { ...options, runs: false });
              const fast = await read(path, { ...options, runs: true });
              assert.equal(slow.runLines, 0, where);
              // The fast path did read lines here, so the comparison below is of it (with lines
              // of 80 units at most, few written lines qualify: they may all fall where it
              // had stopped trying).
              if (maxLineLength > 80) assert.ok(fast.runLines > 0, `${where}: no run`);
              runLines += fast.runLines;
              assert.equal(fast.lines, slow.lines, where);
              assert.deepStrictEqual(fast.batches, slow.batches, where);
            }
          }
        }
      }
    }
    assert.ok(runLines > 0);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("FileSource backs off from runs too short to pay for their call", async () => {
  // Runs of 3 written lines, each cut by a line the fast path declines: read in runs, they
  // would cost more than the lines they save (BENCHMARKS.md, eleventh stop), so most are left
  // to the usual way; runs of 40 are all read in runs.
  // (Without a status or a channel, a line is no reading: the parser refuses it.)
  const written = writtenLines(4000, 9).filter((l) =>
    !/"status":null(,"injected":"\w+")?\}\n$/.test(l)
  );
  const other = OTHER_LINES[5]!; // a value of "1.50": not the written form
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    for (const [run, most] of [[3, 0.5], [40, 1]] as const) {
      const parts: string[] = [];
      for (let at = 0; at < written.length; at += run) {
        parts.push(...written.slice(at, at + run), other);
      }
      Deno.writeFileSync(path, new TextEncoder().encode(parts.join("")));
      const options = {
        chunkBytes: 1 << 20,
        batchSize: 8192,
        suppressLines: 0,
        maxLineLength: 65536,
      };
      const fast = await read(path, { ...options, runs: true });
      const slow = await read(path, { ...options, runs: false });
      assert.deepStrictEqual(fast.batches, slow.batches);
      if (most < 1) {
        assert.ok(fast.runLines < most * written.length, `runs of ${run}: ${fast.runLines}`);
      } else assert.equal(fast.runLines, written.length, `runs of ${run}`);
    }
  } finally {
    Deno.removeSync(path);
  }
});

/**
 * Reads `path` with `hold` batches at most waiting unreleased (`Batch.text`, as a slow writer
 * holds them), checking after every read that each of them still carries its own lines; a held
 * batch is released at random (sometimes twice, sometimes never: dropped). The distinct buffers
 * the batches' texts were in.
 */
async function readHolding(
  path: string,
  lines: string[],
  options: { chunkBytes: number; batchSize: number; suppressLines: number; hold: number },
  seed: number,
): Promise<{ buffers: Set<ArrayBufferLike>; dropped: number; lent: number }> {
  const rand = prng(seed);
  const source = new FileSource(path, { format: "json", ...options });
  const held: { batch: Batch; text: string }[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let at = 0, dropped = 0, lent = 0;
  const where = JSON.stringify(options);
  for await (const b of source.readable) {
    const expected = lines.slice(at, at + b.lines).join("");
    at += b.lines;
    b.release?.();
    if (b.suppress) {
      assert.equal(b.text, undefined, where);
      continue;
    }
    assert.equal(new TextDecoder().decode(b.text!.bytes), expected, where);
    buffers.add(b.text!.bytes.buffer);
    // A text of its own is a copy the size of its lines; a lent one is in a read buffer.
    if (b.text!.bytes.buffer.byteLength > b.text!.bytes.length) lent++;
    held.push({ batch: b, text: expected });
    while (held.length > options.hold) {
      const [out] = held.splice(Math.floor(rand() * held.length), 1);
      const r = rand();
      if (r < 0.1) dropped++;
      else {
        out!.batch.text!.release();
        if (r < 0.3) out!.batch.text!.release();
      }
    }
    for (const h of held) {
      assert.equal(new TextDecoder().decode(h.batch.text!.bytes), h.text, `${where}: overwritten`);
    }
  }
  assert.equal(at, lines.length, where);
  for (const h of held) h.batch.text!.release();
  return { buffers, dropped, lent };
}

Deno.test("FileSource keeps a batch's lines in the read buffer until it is released", async () => {
  // (Without a status or a channel, a line is no reading: the parser refuses it.)
  const written = writtenLines(6000, 13).filter((l) =>
    !/"status":null(,"injected":"\w+")?\}\n$/.test(l)
  );
  const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
  try {
    // Written lines only (each batch's text one run of a read: lent), and the same with a
    // CRLF line now and then (the batch around it copies its lines).
    const crlf = written.map((l, i) => i % 2000 === 7 ? l.slice(0, -1) + "\r\n" : l);
    for (const [f, lines] of [written, crlf].entries()) {
      Deno.writeFileSync(path, new TextEncoder().encode(lines.join("")));
      // What a batch's text must be: its lines as written, a CRLF one with `\n` alone.
      const texts = lines.map((l) => l.replace(/\r\n$/, "\n"));
      for (const chunkBytes of [4096, 65536]) {
        for (const batchSize of [7, 100, 8192]) {
          for (const suppressLines of [0, 333]) {
            for (const hold of [1, 3, 12]) {
              const options = { chunkBytes, batchSize, suppressLines, hold };
              const seed = chunkBytes + batchSize + suppressLines + hold + f;
              const { buffers, dropped, lent } = await readHolding(path, texts, options, seed);
              const where = `file ${f}, ${JSON.stringify(options)}`;
              assert.ok(lent > 0, `${where}: no text was lent`);
              // Buffers are reused: the held ones, those dropped, up to 4 spare ones, the one
              // read into and the copies (a CRLF batch's, a small copy each), no more.
              const copies = f === 1 ? Math.ceil(lines.length / 2000) : 0;
              const bound = hold + dropped + 4 + 1 + copies;
              assert.ok(buffers.size <= bound, `${where}: ${buffers.size} buffers > ${bound}`);
            }
          }
        }
      }
    }
  } finally {
    Deno.removeSync(path);
  }
});
