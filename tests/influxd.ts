/**
 * A real InfluxDB 1.x server (`influxd`, the Debian package `influxdb`, installed by `.ci/run`)
 * for the tests and the benchmark: its own config file, loopback binds on free ports, temporary
 * meta/data/wal directories, reporting and every other service off. It can be stopped and
 * started again on the same directories and ports, as an outage would.
 * @module
 */
import { join } from "node:path";

/** A TCP port free right now on 127.0.0.1. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One InfluxQL query's answer: each statement's series (`/query` JSON). */
export interface QueryResult {
  series: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
  error?: string;
}

/** A running (or stopped) `influxd` made by {@linkcode startInfluxd}. */
export interface Influxd extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The directory holding the config, the data and the server's log. */
  readonly dir: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same directories and port; resolves once it answers `/ping`. */
  start(): Promise<void>;
  /** Runs InfluxQL `q` (on `db` when given); rejects on an HTTP or statement error. */
  query(q: string, db?: string): Promise<QueryResult>;
  /** Every statement's result of `q`, errors included, for checking a dashboard's queries. */
  queryAll(q: string, db?: string): Promise<{ status: number; results: QueryResult[] }>;
}

/**
 * Starts `influxd` in a new temporary directory; resolves once `/ping` answers. `await using`
 * stops it and removes the directory.
 *
 * @example
 * ```ts
 * await using influx = await startInfluxd();
 * await influx.query("CREATE DATABASE vigil");
 * ```
 */
export async function startInfluxd(): Promise<Influxd> {
  const dir = await Deno.makeTempDir({ prefix: "vigil-influxd-" });
  const httpPort = freePort();
  const rpcPort = freePort();
  const config = join(dir, "influxdb.conf");
  await Deno.writeTextFile(
    config,
    `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, "meta")}"
[data]
  dir = "${join(dir, "data")}"
  wal-dir = "${join(dir, "wal")}"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: Deno.ChildProcess | null = null;
  let logged: Promise<void> = Promise.resolve();

  const start = async () => {
    const log = await Deno.open(join(dir, "influxd.log"), { append: true, create: true });
    child = new Deno.Command("influxd", {
      args: ["run", "-config", config],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    logged = child.stderr.pipeTo(log.writable).catch(() => {});
    const end = Date.now() + 60_000;
    const status = child.status.then(() => null);
    while (Date.now() < end) {
      const up = await Promise.race([
        fetch(`${url}/ping`).then(async (r) => {
          await r.body?.cancel();
          return r.status === 204;
        }, () => false),
        status,
      ]);
      if (up) return;
      if (up === null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = await Deno.readTextFile(join(dir, "influxd.log")).catch(() => "");
    throw new Error(`influxd did not answer /ping; its log ends:\n${tail.slice(-2000)}`);
  };
  const stop = async () => {
    if (child === null) return;
    const c: Deno.ChildProcess = child;
    child = null;
    try {
      c.kill("SIGTERM");
    } catch { /* already gone */ }
    await c.status;
    await logged;
  };
  const queryAll = async (q: string, db?: string) => {
    const params = new URLSearchParams({ q, epoch: "ms" });
    if (db !== undefined) params.set("db", db);
    const res = await fetch(`${url}/query`, { method: "POST", body: params });
    const body = await res.json();
    const results: QueryResult[] = (body.results ?? []).map((
      r: { series?: QueryResult["series"]; error?: string },
    ) => ({ series: r.series ?? [], error: r.error }));
    return { status: res.status, results };
  };
  await start();
  return {
    url,
    dir,
    stop,
    start,
    queryAll,
    query: async (q, db) => {
      const { status, results } = await queryAll(q, db);
      const error = results.find((r) => r.error)?.error;
      if (status !== 200 || error) throw new Error(`InfluxQL ${q}: HTTP ${status} ${error ?? ""}`);
      return results[0] ?? { series: [] };
    },
    [Symbol.asyncDispose]: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
