/**
 * `replay` of the same generated file twice in one run, side by side: without a sink, then with
 * `--influx` into a real InfluxDB 1.x (`influxd`, started by tests/influxd.ts on its own ports
 * and directories). Replay waits for InfluxDB to have every point before it reports, so the
 * second figure is readings/s end to end, into the database. The count read back is checked.
 *
 *   deno run -A bench/influx_bench.ts [READINGS]
 */
import { join } from "node:path";
import { generateReadings } from "../simulator/mod.ts";
import { runVigil } from "../tests/helpers.ts";
import { startInfluxd } from "../tests/influxd.ts";
import { formatReading } from "../engine/mod.ts";

const COUNT = Number(Deno.args[0] ?? 200_000);
const MACHINES = 100;

const dir = await Deno.makeTempDir({ prefix: "vigil-influx-bench-" });
try {
  const input = join(dir, "input.jsonl");
  const start = Date.UTC(2026, 0, 1);
  const options = { machines: MACHINES, seed: 42, count: COUNT, start, intervalMs: 2000 };
  const lines = [...generateReadings({ ...options, faultRate: 0.01 })].map(formatReading);
  await Deno.writeTextFile(input, lines.join("\n") + "\n");

  await using influx = await startInfluxd();
  await influx.query("CREATE DATABASE vigil");

  const replay = async (name: string, extra: string[]) => {
    const out = await runVigil(["replay", input, "--data-dir", join(dir, name), ...extra]);
    if (out.code !== 0) throw new Error(`${name}: ${out.stderr}`);
    return JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  };
  const plain = await replay("plain", []);
  const into = await replay("influx", ["--influx", `${influx.url}/vigil`]);
  const q = await influx.query(`SELECT count(status) FROM vigil_reading`, "vigil");
  const stored = Number(q.series[0]?.values[0]?.[1] ?? 0);
  const rows = await influx.query(`SELECT count(health_score) FROM vigil_row`, "vigil");

  console.log(`replay of ${COUNT} readings (${MACHINES} machines), one run:`);
  console.log(`| replay               | readings/s | seconds |`);
  console.log(`| -------------------- | ---------: | ------: |`);
  console.log(`| no sink              | ${plain.readings_per_sec} | ${plain.seconds} |`);
  console.log(`| --influx (1.x, local) | ${into.readings_per_sec} | ${into.seconds} |`);
  console.log(
    `InfluxDB holds ${stored} readings (of ${into.readings}) and ` +
      `${rows.series[0]?.values[0]?.[1] ?? 0} rows (of ${into.rows}); ` +
      `${into.anomalies} anomalies`,
  );
  if (stored !== into.readings) throw new Error("InfluxDB is missing readings");
} finally {
  await Deno.remove(dir, { recursive: true });
}
