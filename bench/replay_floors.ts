/**
 * The floors under issue 14's replay targets (1 M readings/s in-process, 10× the Python
 * operator): what a replay of FILE costs in the parts that no rewrite of the per-reading
 * JavaScript (a columnar batch, state in arrays) can take away, each measured alone, beside
 * today's engine and the whole `replay` of the same file, in rounds (the machine is shared:
 * compare within a run).
 *
 *   deno task build:wasm
 *   deno run -A bench/replay_floors.ts FILE [ROUNDS]
 *
 * The stages, each in a fresh process (so each pays its own JIT warm-up, as a replay does), each
 * timed by its own clock from its first read to its end:
 *
 * - `read`: the file read in 1 MiB chunks, as `FileSource` reads it, and its lines counted.
 * - `columns`: the file read, and the least a columnar scanner does: each line read once where it
 *   stands (its end found by reading it), strings (keys and values) known by comparing their
 *   bytes with the one last met at the same place in a line (or what followed it there), else by
 *   a hash of their bytes, numbers parsed from their digits, and machine, time, status and each
 *   channel value written to typed arrays of a batch's size, reused batch after batch. No
 *   object, string or number is made per reading, and nothing is checked (machine ids, status
 *   words, duplicate keys, line limits), nor is a value's stream id or active flag looked up: an
 *   optimistic bound, not a parser. It reads flat objects of strings and numbers, each line
 *   ending in `\n` (a last line without one is not read); a line of another form is counted and
 *   reported (a simulator's file has none).
 * - `kernels`: the rolling kernel and the adaptive detector of the `machine` profile over the
 *   file's channel values (a stream per machine and channel, the limits and, for the adaptive
 *   detector, the NaN of a channel outside its active statuses as the analyzer gives them),
 *   loaded before the clock starts, in slices of their batch capacity, each slice one `process`
 *   call of each, as the analyzer makes them.
 * - `write`: the bytes of a replay's outputs, written in 1 MiB pieces after an untimed write of as
 *   many (in a fresh process the first ~100 MB written took 0.3–0.5 s here, the same bytes again
 *   0.02–0.05 s, with most of the memory free: a cost of the process's first writes, which the
 *   replay pays too but no floor is): `stream_output.jsonl` (the input's bytes, read before the
 *   clock starts, as a replay of canonical lines copies them) and, of the sizes this round's
 *   replay wrote them, `analysis_output.csv`, `anomalies.jsonl` and `anomaly_report.json`
 *   (written as zero bytes of those sizes: formatting rows and events is per-row work, not a
 *   floor).
 * - `source`: today's `FileSource` over the file (the JSONL scanner, a `Reading` per line).
 * - `analyze`: `source`, and each batch through today's `Analyzer` of the `machine` profile as
 *   `replay` builds it (rolling kernel, adaptive detector, heartbeat "auto"); nothing written.
 * - `replay`: `main.ts replay FILE` into a temporary data directory with `deno task replay`'s V8
 *   flags; its wall time is the one it prints (in-process, from the input opened to the end).
 *
 * Prints a Markdown table of medians: each stage's own wall and CPU seconds (user + system of
 * its process, GC threads included, over its clock's span), the readings/s that wall time
 * allows, and its whole process's CPU seconds and peak RSS (`/usr/bin/time`; the `kernels` and
 * `write` processes load their input before the clock starts, and `write` writes it once
 * untimed: their process figures are mostly that). Then the sum of the three floors
 * (`columns` + `kernels` + `write`; `read` is inside `columns`): what a replay that writes every
 * output and does nothing else per reading would take on this machine, on one thread (a replay
 * that scanned in a worker while it analysed could overlap them).
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { replayAnalyzer } from "./_replay_analyzer.ts";

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const FLOORS = ["read", "columns", "kernels", "write"] as const;
// Today's engine, the same way: its file source alone, and with the analyzer.
const STAGES = [...FLOORS, "source", "analyze"] as const;
type Stage = typeof STAGES[number];
const CHUNK = 1 << 20;

interface Measured {
  /** The whole process's CPU s. */
  cpu: number;
  /** The stage's own CPU s (its clock's), NaN for the replay. */
  ownCpu: number;
  wall: number;
  rss: number;
  readings: number;
}

async function main(file: string, rounds: number): Promise<void> {
  const results = new Map<string, Measured[]>();
  const add = (name: string, m: Measured) => {
    const list = results.get(name) ?? [];
    list.push(m);
    results.set(name, list);
  };
  for (let round = 1; round <= rounds; round++) {
    const dir = await Deno.makeTempDir({ prefix: "vigil-floors-" });
    try {
      // The replay first: the write stage writes files of the sizes it wrote.
      const replay = await timed([
        "run",
        "--v8-flags=--heap-growing-percent=50,--max-semi-space-size=4",
        "-A",
        join(ROOT, "main.ts"),
        "replay",
        file,
        "--data-dir",
        join(dir, "replay"),
      ]);
      const summary = JSON.parse(replay.stdout.trim().split("\n").at(-1)!);
      add("replay", {
        ...replay,
        wall: summary.seconds,
        ownCpu: NaN,
        readings: summary.readings,
      });
      for (const stage of STAGES) {
        const out = await timed([
          "run",
          "--v8-flags=--heap-growing-percent=50,--max-semi-space-size=4",
          "-A",
          fromFileUrl(import.meta.url),
          "--stage",
          stage,
          file,
          dir,
        ]);
        const line = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
        add(stage, { ...out, wall: line.wall, ownCpu: line.cpu, readings: line.readings });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    console.error(`round ${round} of ${rounds} done`);
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  console.log(
    "| stage | wall s (its own clock) | CPU s (its own clock) | readings/s by that wall | " +
      "process CPU s | process peak RSS MiB |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  let floors = 0;
  for (const name of [...STAGES, "replay"]) {
    const list = results.get(name)!;
    const wall = med(list.map((m) => m.wall));
    if (name === "columns" || name === "kernels" || name === "write") floors += wall;
    const own = name === "replay" ? "" : med(list.map((m) => m.ownCpu)).toFixed(2);
    console.log(
      `| ${name} | ${wall.toFixed(3)} | ${own} | ${
        Math.round(list[0]!.readings / wall).toLocaleString("en")
      } | ${med(list.map((m) => m.cpu)).toFixed(2)} | ${
        Math.round(med(list.map((m) => m.rss)) / 1024)
      } |`,
    );
  }
  console.log(
    `\ncolumns + kernels + write (read is inside columns): ${floors.toFixed(3)} s, ` +
      `${Math.round(results.get("replay")![0]!.readings / floors).toLocaleString("en")} readings/s`,
  );
}

/** `deno ARGS` under `/usr/bin/time`: its stdout, CPU s and peak RSS KiB. Dirty pages of the
 * files the stage before wrote are flushed first (`sync`): left, the kernel would throttle this
 * stage's writes to write them out. */
async function timed(args: string[]): Promise<{ stdout: string; cpu: number; rss: number }> {
  await new Deno.Command("sync").output();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "TIME %U %S %M", Deno.execPath(), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed:\n${stderr}`);
  const m = stderr.match(/TIME ([\d.]+) ([\d.]+) (\d+)/);
  if (!m) throw new Error(`no /usr/bin/time line in:\n${stderr}`);
  return { stdout, cpu: Number(m[1]) + Number(m[2]), rss: Number(m[3]) };
}

async function runStage(
  stage: Stage,
  file: string,
  dir: string | undefined,
): Promise<StageResult> {
  switch (stage) {
    case "read":
      return await readStage(file);
    case "columns":
      return await columnsStage(file);
    case "kernels":
      return await kernelsStage(file);
    case "write":
      return await writeStage(file, join(dir!, "replay"), join(dir!, "write"));
    case "source":
    case "analyze":
      return await engineStage(file, stage === "analyze");
  }
  throw new Error(`no stage ${stage}`);
}

/** What a stage measured: its own wall and CPU seconds (user + system of the process, GC
 * threads included), from its clock's start to its end, and the readings it covered. */
interface StageResult {
  wall: number;
  cpu: number;
  readings: number;
}

function clockStart(): { t: number; cpu: NodeJS.CpuUsage } {
  return { t: performance.now(), cpu: process.cpuUsage() };
}

function clockStop(start: { t: number; cpu: NodeJS.CpuUsage }, readings: number): StageResult {
  const cpu = process.cpuUsage(start.cpu);
  return {
    wall: (performance.now() - start.t) / 1000,
    cpu: (cpu.user + cpu.system) / 1e6,
    readings,
  };
}

/** Counts lines by their `\n` bytes. */
function countLines(buf: Uint8Array, n: number): number {
  let lines = 0;
  for (let i = buf.indexOf(0x0a); i !== -1 && i < n; i = buf.indexOf(0x0a, i + 1)) lines++;
  return lines;
}

async function readStage(file: string): Promise<StageResult> {
  const t0 = clockStart();
  const f = await Deno.open(file);
  const buf = new Uint8Array(CHUNK);
  let lines = 0;
  for (let n; (n = await f.read(buf)) !== null;) lines += countLines(buf, n);
  f.close();
  return clockStop(t0, lines);
}

async function writeStage(
  file: string,
  replayDir: string,
  outDir: string,
): Promise<StageResult> {
  await Deno.mkdir(outDir, { recursive: true });
  const sizes = await Promise.all(
    ["analysis_output.csv", "anomalies.jsonl", "anomaly_report.json"].map(async (name) => ({
      name,
      size: (await Deno.stat(join(replayDir, name))).size,
    })),
  );
  // stream_output.jsonl: the input's bytes, read before the clock starts (the columns stage
  // reads them: a replay reads them once), written in 1 MiB pieces.
  const input = await Deno.readFile(file);
  const lines = countLines(input, input.length);
  // Written once untimed first: in a fresh process the first ~100 MB written took 0.3–0.5 s
  // here, the same bytes again 0.02–0.05 s (with most of the memory free), and a floor is the
  // least it costs.
  const warm = join(outDir, "warm-up");
  await writeFileInPieces(warm, input);
  await Deno.remove(warm);
  const t0 = clockStart();
  await writeFileInPieces(join(outDir, "stream_output.jsonl"), input);
  const zeros = new Uint8Array(CHUNK);
  for (const { name, size } of sizes) {
    const out = await Deno.open(join(outDir, name), { write: true, create: true, truncate: true });
    for (let left = size; left > 0; left -= CHUNK) {
      await writeAll(out, zeros.subarray(0, Math.min(CHUNK, left)));
    }
    out.close();
  }
  return clockStop(t0, lines);
}

/** `bytes` written to a new file at `path` in 1 MiB pieces. */
async function writeFileInPieces(path: string, bytes: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let at = 0; at < bytes.length; at += CHUNK) {
    await writeAll(f, bytes.subarray(at, Math.min(at + CHUNK, bytes.length)));
  }
  f.close();
}

async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await f.write(bytes.subarray(at));
}

/** The least a columnar batch holds: per reading its machine, time and status, per channel
 * value its reading, channel and value, in typed arrays of a fixed capacity (the kernels'
 * slice), handed on and reused when full. */
class Columns {
  readonly machine = new Int32Array(BATCH_READINGS);
  readonly status = new Int32Array(BATCH_READINGS);
  readonly time = new Float64Array(BATCH_READINGS);
  readonly reading = new Int32Array(BATCH_VALUES);
  readonly channel = new Int32Array(BATCH_VALUES);
  readonly value = new Float64Array(BATCH_VALUES);
  readings = 0;
  values = 0;
  /** Readings in the batches handed on. */
  total = 0;
  /** A checksum of what was handed on, so that no store is left out as dead code. */
  sum = 0;

  /** Adds a reading of `values` channel values (hands the batch on first if they would not
   * fit); returns its index in the batch. */
  addReading(machine: number, time: number, status: number, values: number): number {
    if (this.readings === BATCH_READINGS || this.values + values > BATCH_VALUES) this.handOn();
    const i = this.readings++;
    this.machine[i] = machine;
    this.time[i] = time;
    this.status[i] = status;
    return i;
  }

  addValue(reading: number, channel: number, value: number): void {
    const i = this.values++;
    this.reading[i] = reading;
    this.channel[i] = channel;
    this.value[i] = value;
  }

  handOn(): void {
    if (this.values > 0) this.sum += this.value[this.values - 1]! + this.machine[0]!;
    this.total += this.readings;
    this.readings = this.values = 0;
  }
}

const BATCH_VALUES = 8192, BATCH_READINGS = 8192;

const MAX_VALUES = 64;
const QUOTE = 0x22, COLON = 0x3a, COMMA = 0x2c, CLOSE = 0x7d, NL = 0x0a, MINUS = 0x2d, DOT = 0x2e;

/** The index of the quote that closes the string starting at `i`; -1 when a `\n` or `limit`
 * comes first (a raw line break is no JSON string's). */
function stringEnd(b: Uint8Array, i: number, limit: number): number {
  for (; i < limit; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c === NL) return -1;
  }
  return -1;
}

/**
 * The columnar floor over one file: per line, each key and string value compared by its bytes
 * with the one at the same place in the last line (a new one is given a number: the few
 * distinct ones), numbers parsed from their digits, the timestamp's bytes compared with the last
 * one's (a new one parsed by `Date.parse` on the few ticks there are).
 */
async function columnsStage(file: string): Promise<StageResult> {
  const t0 = clockStart();
  const cols = new Columns();
  // A line's channel values until its end is found (a line declined adds nothing).
  const pendingKey = new Int32Array(MAX_VALUES), pendingValue = new Float64Array(MAX_VALUES);
  // The string last met at each place in a line (keys and values), by its number; each
  // string's bytes by its number; numbers by a hash of the bytes, and by text.
  const slotId: number[] = [];
  const bytesOf: Uint8Array[] = [];
  // The string that followed each one at its place last time (-1: none yet).
  const after: number[] = [];
  const byHash = new Map<number, number>();
  const ids = new Map<string, number>();
  let timeBytes = new Uint8Array(64), timeLength = 0, timeMs = 0;
  let declined = 0;
  const f = await Deno.open(file);
  let buf = new Uint8Array(CHUNK + 4096);
  let have = 0;
  for (let n; (n = await f.read(buf.subarray(have, have + CHUNK))) !== null;) {
    have += n;
    const b = buf, limit = have;
    let at = 0;
    lines: while (at < limit) {
      // One line, `{"k":v,...}` and its `\n`, read where it stands: its end is found by
      // reading it (a search for each line's end first cost up to 0.07 s of this stage). Bytes
      // at or past `limit` are not this read's: reaching it leaves the line for the next read.
      let i = at + 1, slot = 0, machine = -1, status = -1, time = NaN, reading = -1;
      let ok = b[at] === 0x7b;
      let pendingCount = 0;
      while (ok) {
        // A key.
        if (i >= limit || b[i] !== QUOTE) {
          ok = false;
          break;
        }
        const key = stringId(i + 1, slot++, limit);
        if (key < 0 || scanEnd + 2 >= limit) {
          ok = false;
          break;
        }
        i = scanEnd + 1;
        if (b[i] !== COLON) {
          ok = false;
          break;
        }
        i++;
        if (b[i] === QUOTE) {
          if (key === timeKey) {
            const close = stringEnd(b, i + 1, limit);
            if (close < 0) {
              ok = false;
              break;
            }
            const len = close - i - 1;
            let same = len === timeLength;
            for (let k = 0; same && k < len; k++) same = b[i + 1 + k] === timeBytes[k];
            if (!same) {
              const text = new TextDecoder().decode(b.subarray(i + 1, close));
              timeMs = Date.parse(text);
              if (len > timeBytes.length) timeBytes = new Uint8Array(len);
              timeBytes.set(b.subarray(i + 1, close));
              timeLength = len;
            }
            time = timeMs;
            i = close + 1;
            slot++;
          } else {
            const value = stringId(i + 1, slot++, limit);
            if (value < 0) {
              ok = false;
              break;
            }
            if (key === machineKey) machine = value;
            else if (key === statusKey) status = value;
            i = scanEnd + 1;
          }
        } else {
          const v = number(b, i, limit);
          i = scanEnd;
          slot++;
          if (pendingCount < MAX_VALUES) {
            pendingKey[pendingCount] = key;
            pendingValue[pendingCount++] = v;
          } else ok = false;
        }
        if (i >= limit) ok = false;
        else if (b[i] === COMMA) i++;
        else if (b[i] === CLOSE) break;
        else ok = false;
      }
      if (ok) {
        // The `\n` right after the `}`; past the read, the line is the next read's.
        if (i + 1 >= limit) break;
        ok = b[i + 1] === NL;
      }
      if (ok) {
        reading = cols.addReading(machine, time, status, pendingCount);
        for (let k = 0; k < pendingCount; k++) {
          cols.addValue(reading, pendingKey[k]!, pendingValue[k]!);
        }
        at = i + 2;
        continue;
      }
      // Not read: skipped to its end, if this read holds it.
      const end = b.indexOf(NL, at);
      if (end === -1 || end >= limit) break lines;
      declined++;
      at = end + 1;
    }
    // The partial line to the front.
    buf.copyWithin(0, at, have);
    have -= at;
    if (have + CHUNK > buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf.subarray(0, have));
      buf = bigger;
    }
  }
  f.close();
  if (declined > 0) console.error(`columns: ${declined} lines of another shape`);
  cols.handOn();
  const result = clockStop(t0, cols.total);
  if (Number.isNaN(cols.sum)) console.error("columns: NaN checksum");
  return result;

  // The string starting at `i` (after its quote): its number, found by comparing its bytes with
  // the string last met at `slot`, else by a hash of its bytes; sets `scanEnd` to its closing
  // quote. -1 for an escape, a line's end or the read's end before the closing quote.
  function stringId(i: number, slot: number, limit: number): number {
    const b = buf;
    const close = stringEnd(b, i, limit);
    if (close < 0) return -1;
    scanEnd = close;
    const last = slotId[slot];
    if (last !== undefined) {
      // What followed the last one here before (machines in turn), then the last one again.
      const next = after[last]!;
      if (next >= 0 && sameBytes(b, i, close, next)) return slotId[slot] = next;
      if (sameBytes(b, i, close, last)) return last;
    }
    let h = 0x811c9dc5;
    for (let k = i; k < close; k++) {
      const c = buf[k]!;
      if (c === 0x5c) return -1;
      h = Math.imul(h ^ c, 0x01000193);
    }
    let id = byHash.get(h);
    if (id === undefined || !sameBytes(b, i, close, id)) {
      const text = new TextDecoder().decode(buf.subarray(i, close));
      id = ids.get(text);
      if (id === undefined) {
        ids.set(text, id = ids.size);
        bytesOf.push(b.slice(i, close));
        after.push(-1);
        if (text === "timestamp") timeKey = id;
        else if (text === "machine") machineKey = id;
        else if (text === "status") statusKey = id;
      }
      byHash.set(h, id);
    }
    if (last !== undefined) after[last] = id;
    slotId[slot] = id;
    return id;
  }

  function sameBytes(b: Uint8Array, i: number, close: number, id: number): boolean {
    const known = bytesOf[id]!;
    if (known.length !== close - i) return false;
    for (let k = 0; k < known.length; k++) if (b[i + k] !== known[k]) return false;
    return true;
  }

  // The number at `i` (digits, a sign and a fraction: what the simulator writes); sets
  // `scanEnd` past it.
  function number(b: Uint8Array, i: number, limit: number): number {
    let negative = false;
    if (b[i] === MINUS) {
      negative = true;
      i++;
    }
    let mantissa = 0, scale = 1;
    for (let c = b[i]!; i < limit && c >= 0x30 && c <= 0x39; c = b[++i]!) {
      mantissa = mantissa * 10 + c - 0x30;
    }
    if (b[i] === DOT) {
      i++;
      for (let c = b[i]!; i < limit && c >= 0x30 && c <= 0x39; c = b[++i]!) {
        mantissa = mantissa * 10 + c - 0x30;
        scale *= 10;
      }
    }
    scanEnd = i;
    return (negative ? -mantissa : mantissa) / scale;
  }
}
let scanEnd = 0, timeKey = -1, machineKey = -1, statusKey = -1;

/**
 * The kernels' floor: the file's channel values as the analyzer gives them to the rolling
 * kernel and the adaptive detector (a stream per machine and channel, in the readings' order),
 * loaded with `JSON.parse` before the clock starts, then one `process` call of each per slice.
 */
async function kernelsStage(file: string): Promise<StageResult> {
  const engine = await import("../engine/mod.ts");
  const text = await Deno.readTextFile(file);
  const streamOf = new Map<string, number>();
  const stream: number[] = [],
    time: number[] = [],
    value: number[] = [],
    adaptiveValue: number[] = [];
  let readings = 0;
  const kernel = new engine.WasmKernel({});
  const adaptive = new engine.WasmAdaptiveDetector({
    maxStreams: kernel.options.maxStreams,
    batchCapacity: kernel.options.batchCapacity,
  });
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const r = JSON.parse(line);
    const t = Date.parse(r.timestamp);
    readings++;
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== "number") continue;
      const key = `${r.machine}\u0000${k}`;
      const c = engine.MACHINE_CHANNELS[k];
      let id = streamOf.get(key);
      if (id === undefined) {
        streamOf.set(key, id = streamOf.size);
        // As the analyzer's `limitsOf`.
        kernel.setLimits(id, {
          low: c?.alert?.[0] ?? NaN,
          high: c?.alert?.[1] ?? NaN,
          maxDelta: c?.maxDelta ?? NaN,
          maxDeviationPct: c?.maxDeviationPct ?? NaN,
        });
      }
      stream.push(id);
      time.push(t);
      value.push(v);
      // The adaptive detector gets NaN (missing) for a channel outside its active statuses
      // (speed while not RUNNING), as the analyzer gives it.
      adaptiveValue.push(!c?.activeStatuses || c.activeStatuses.includes(r.status) ? v : NaN);
    }
  }
  const s = Int32Array.from(stream), t = Float64Array.from(time), v = Float64Array.from(value);
  const av = Float64Array.from(adaptiveValue);
  const cap = kernel.options.batchCapacity;
  const t0 = clockStart();
  for (let at = 0; at < s.length; at += cap) {
    const n = Math.min(cap, s.length - at);
    const slice = {
      stream: s.subarray(at, at + n),
      time: t.subarray(at, at + n),
      value: v.subarray(at, at + n),
    };
    kernel.process(slice, n);
    adaptive.process({ ...slice, value: av.subarray(at, at + n) }, n);
  }
  return clockStop(t0, readings);
}

/**
 * Today's engine over the file, as `bench/replay_stages.ts` runs it: `FileSource` (JSONL
 * scanner, a `Reading` per line), with `analyze` every batch through the `Analyzer` of the
 * `machine` profile as `replay` builds it (rolling kernel, adaptive detector, heartbeat "auto");
 * nothing written.
 */
async function engineStage(file: string, analyze: boolean): Promise<StageResult> {
  const engine = await import("../engine/mod.ts");
  const source = new engine.FileSource(file, { format: "json" });
  const analyzer = analyze ? replayAnalyzer(engine) : null;
  const t0 = clockStart();
  let readings = 0;
  for await (const batch of source.readable) {
    const columns = batch.columns;
    readings += columns ? columns.length : batch.readings.length;
    if (analyzer) {
      if (columns) analyzer.analyzeColumns(columns);
      else analyzer.analyze(batch.readings);
    }
    // Done with by now in a replay: the writer releases its buffers for the source to reuse.
    batch.text?.release();
    batch.release?.();
  }
  return clockStop(t0, readings);
}

// The entry, last: the stages use the classes and bindings above.
if (Deno.args[0] === "--stage") {
  const [, stage, file, outDir] = Deno.args;
  console.log(JSON.stringify(await runStage(stage as Stage, file!, outDir)));
  Deno.exit(0);
}

const [file, roundsArg] = Deno.args;
const rounds = Number(roundsArg ?? 3);
if (!file || !Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: bench/replay_floors.ts FILE [ROUNDS]");
  Deno.exit(2);
}
await main(file, rounds);
