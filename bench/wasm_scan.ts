/**
 * The WASM JSONL scanner (`WasmLineScanner.scanInto`, engine/formats/wasm_line_scanner.ts)
 * against the JS one (`JsonLineScanner.scanLineInto`) over a whole JSONL file read into memory
 * first, side by side in one process (issue 14). Rounds alternate (the order flips each round);
 * each round is one pass of each over the file into reused `ReadingColumns`, cleared every
 * 8,192 lines (a FileSource batch):
 * - `js`: `scanLineInto` line by line as FileSource calls it, from each line's start with the
 *   buffer's end as the limit;
 * - `wasm`: `scanInto` in batches of 8,192 lines.
 * Timed in CPU time (`process.cpuUsage`, user + system) and wall time; medians over rounds. A
 * first, untimed pass checks that the two produce identical columns over the whole file (every
 * column; values with Object.is) and that the WASM scanner takes every line the JS one takes as
 * canonical.
 *
 *   deno task build:wasm && deno run -A bench/wasm_scan.ts [FILE=/tmp/r1m.jsonl] [ROUNDS=7]
 * @module
 */
import process from "node:process";
import { JsonLineScanner } from "../engine/formats/json_line_scanner.ts";
import { ReadingColumns } from "../engine/core/reading_columns.ts";
import { WasmLineScanner } from "../engine/formats/wasm_line_scanner.ts";

const file = Deno.args[0] ?? "/tmp/r1m.jsonl";
const rounds = Number(Deno.args[1] ?? 7);
if (!(rounds >= 1)) {
  console.error(`wasm_scan: ROUNDS must be a number >= 1, got ${Deno.args[1]}`);
  Deno.exit(2);
}
const BATCH = 8192;
const bytes = await Deno.readFile(file);

/** Whether reading `i` of `a` and `b` are the same, entries included. */
function sameReading(a: ReadingColumns, b: ReadingColumns, i: number): boolean {
  if (
    !Object.is(a.time[i], b.time[i]) || a.machine[i] !== b.machine[i] ||
    a.status[i] !== b.status[i] || a.injected?.[i] !== b.injected?.[i] ||
    a.first[i + 1] !== b.first[i + 1]
  ) return false;
  for (let e = a.first[i]!; e < a.first[i + 1]!; e++) {
    if (a.key[e] !== b.key[e] || !Object.is(a.value[e], b.value[e])) return false;
  }
  return true;
}

/** The untimed identity pass: lines compared, or throws at the first difference. */
function check(): number {
  const js = new JsonLineScanner(), wasm = new WasmLineScanner();
  const a = new ReadingColumns(BATCH), b = new ReadingColumns(BATCH);
  let pos = 0, lines = 0;
  while (pos < bytes.length) {
    a.clear();
    b.clear();
    const n = wasm.scanInto(bytes, pos, bytes.length, BATCH, a);
    let at = pos, m = 0;
    while (m < BATCH && at < bytes.length && js.scanLineInto(bytes, at, bytes.length, b)) {
      if (!js.canonical) {
        b.pop();
        break;
      }
      at = js.lineEnd + 1;
      m++;
    }
    if (m !== n || at !== wasm.end) {
      throw new Error(`at byte ${pos}: wasm took ${n} lines to ${wasm.end}, js ${m} to ${at}`);
    }
    for (let i = 0; i < n; i++) {
      if (!sameReading(a, b, i)) throw new Error(`line ${lines + i + 1}: the columns differ`);
    }
    lines += n;
    if (n === 0) {
      // A line neither takes as canonical: skip it as FileSource would parse it.
      const nl = bytes.indexOf(10, pos);
      pos = nl < 0 ? bytes.length : nl + 1;
    } else pos = wasm.end;
  }
  return lines;
}

const js = new JsonLineScanner();
const wasm = new WasmLineScanner();
// Each its own columns: the two write them with different code, which must not meet in one
// object's inline caches.
const jsColumns = new ReadingColumns(BATCH);
const wasmColumns = new ReadingColumns(BATCH);
let sink = 0;

/** One pass of the JS scanner: lines read. */
function passJs(): number {
  const columns = jsColumns;
  let pos = 0, lines = 0, inBatch = 0;
  columns.clear();
  while (pos < bytes.length) {
    if (!js.scanLineInto(bytes, pos, bytes.length, columns)) {
      const nl = bytes.indexOf(10, pos);
      pos = nl < 0 ? bytes.length : nl + 1;
      continue;
    }
    pos = js.lineEnd + 1;
    lines++;
    if (++inBatch === BATCH) {
      sink += columns.time[0]!;
      columns.clear();
      inBatch = 0;
    }
  }
  return lines;
}

/** One pass of the WASM scanner: lines read. */
function passWasm(): number {
  const columns = wasmColumns;
  let pos = 0, lines = 0;
  while (pos < bytes.length) {
    columns.clear();
    const n = wasm.scanInto(bytes, pos, bytes.length, BATCH, columns);
    if (n === 0) {
      const nl = bytes.indexOf(10, pos);
      pos = nl < 0 ? bytes.length : nl + 1;
      continue;
    }
    sink += columns.time[0]!;
    lines += n;
    pos = wasm.end;
  }
  return lines;
}

function timed(pass: () => number): { lines: number; cpu: number; wall: number } {
  const c0 = process.cpuUsage(), t0 = performance.now();
  const lines = pass();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { lines, cpu: (c.user + c.system) / 1e6, wall };
}

const checked = check();
console.log(`identical columns over ${checked} lines of ${file} (${bytes.length} bytes)`);
const samples: Record<string, { cpu: number[]; wall: number[]; lines: number }> = {
  js: { cpu: [], wall: [], lines: 0 },
  wasm: { cpu: [], wall: [], lines: 0 },
};
// One warm-up pass each, untimed.
passJs();
passWasm();
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ["js", "wasm"] : ["wasm", "js"];
  for (const name of order) {
    const s = timed(name === "js" ? passJs : passWasm);
    const entry = samples[name]!;
    entry.cpu.push(s.cpu);
    entry.wall.push(s.wall);
    entry.lines = s.lines;
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, s] of Object.entries(samples)) {
  const cpu = median(s.cpu), wall = median(s.wall);
  console.log(
    `${name.padEnd(5)} ${s.lines} lines: cpu ${cpu.toFixed(3)} s (${
      (cpu / s.lines * 1e9).toFixed(0)
    } ns/line), wall ${wall.toFixed(3)} s (${(wall / s.lines * 1e9).toFixed(0)} ns/line); cpu ` +
      `per round ${s.cpu.map((x) => x.toFixed(3)).join(" ")}`,
  );
}
const ratio = median(samples.wasm!.cpu) / median(samples.js!.cpu);
console.log(`wasm / js cpu: ${ratio.toFixed(2)} (checksum ${sink})`);
