/**
 * `FileSource` over a JSONL file of which a fraction of the lines are not in the written form,
 * with its fast path (`runs`, `WasmLineScanner`) on or off: what the fast path costs where it
 * declines. The file: 300,000 `writeReading` lines of 10 machines, a fraction `P` of them with a
 * temperature of full precision (17 significant digits, which `WasmLineScanner` declines).
 *
 *   deno run -A bench/jsonl_mixed.ts P FILE gen      # writes FILE
 *   deno run -A bench/jsonl_mixed.ts P FILE 1|0      # reads it, runs on (1) or off (0)
 *
 * Prints one JSON line: the readings, the lines read in runs and the milliseconds. Run it under
 * `/usr/bin/time` for the process's CPU, alternating `1` and `0`.
 * @module
 */
import { FileSource } from "../engine/mod.ts";
import { ByteText } from "../engine/formats/byte_text.ts";
import { writeReading } from "../engine/formats/reading_format.ts";
import { prng } from "../tests/helpers.ts";

const [pArg, path, mode] = Deno.args;
const p = Number(pArg);
if (!(p >= 0 && p <= 1) || !path || !["gen", "0", "1"].includes(mode ?? "")) {
  console.error("usage: bench/jsonl_mixed.ts P FILE gen|0|1");
  Deno.exit(2);
}
if (mode === "gen") {
  const rand = prng(3);
  const out = new ByteText(1 << 20);
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let i = 0; i < 300_000; i++) {
    const declined = rand() < p;
    writeReading({
      timestamp: 1_767_225_600_000 + Math.floor(i / 10) * 1000,
      machine: `m${i % 10}`,
      status: "RUNNING",
      channels: {
        temperature: declined ? rand() * 100 : Math.round(rand() * 10000) / 100,
        speed: Math.round(rand() * 1e5) / 10,
      },
    }, out);
    if (out.bytes().length > 900_000) {
      f.writeSync(out.bytes());
      out.clear();
    }
  }
  f.writeSync(out.bytes());
  f.close();
  Deno.exit(0);
}
const t0 = performance.now();
const source = new FileSource(path, { format: "json", runs: mode === "1" });
let readings = 0;
for await (const b of source.readable) {
  readings += b.columns!.length;
  b.release?.();
  b.text?.release();
}
const ms = Math.round(performance.now() - t0);
console.log(JSON.stringify({ p, runs: mode === "1", readings, runLines: source.runLines, ms }));
