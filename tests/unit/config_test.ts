import assert from "node:assert/strict";
import { join } from "node:path";
import { configOf } from "../../cli/options.ts";
import {
  ConfigError,
  defaultProfileOf,
  formatOf,
  inputChannels,
  parseFlags,
  resolveConfig,
} from "../../engine/mod.ts";
// Test-only: writes a Parquet input (the engine reads Parquet with hyparquet).
import { parquetWriteBuffer } from "npm:hyparquet-writer@0.17.0";

const resolve = (args: string[], file: Record<string, unknown> = {}, env = {}) =>
  resolveConfig(parseFlags(args).flags, file, env);

Deno.test("defaults match the contract", () => {
  const c = resolve([]);
  assert.deepEqual(
    [
      c.source,
      c.profile,
      c.machines,
      c.interval,
      c.processingInterval,
      c.window,
      c.dataDir,
      c.host,
      c.port,
    ],
    [
      { kind: "simulator", target: "simulator" },
      "machine",
      1,
      2,
      10,
      5,
      "./data",
      "127.0.0.1",
      8000,
    ],
  );
  assert.equal(c.token, null);
});

/** Runs `fn` in a fresh temporary directory, removed afterwards whatever happens. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("--token-file: the file's content, trimmed, over VIGIL_TOKEN; excludes --token", () =>
  inTempDir(async (dir) => {
    const file = join(dir, "token");
    await Deno.writeTextFile(file, "  s3cret\n");
    assert.equal((await configOf(["--token-file", file], 0)).token, "s3cret");
    // The config file key, and the environment left unused when a file is named.
    assert.equal(resolve([], { "token-file": file }, { VIGIL_TOKEN: "env" }).token, null);
    assert.equal(resolve([], { "token-file": file }).tokenFile, file);
    assert.throws(
      () => resolve(["--token", "t", "--token-file", file]),
      (e) => e instanceof ConfigError && /--token and --token-file exclude/.test(e.message),
    );
  }));

Deno.test("--token-file: an unreadable or empty file exits 2 naming it, never its content", () =>
  inTempDir(async (dir) => {
    const missing = join(dir, "missing");
    await assert.rejects(
      configOf(["--token-file", missing], 0),
      (e) =>
        e instanceof ConfigError &&
        e.message.startsWith(`cannot read --token-file ${JSON.stringify(missing)}`),
    );
    const empty = join(dir, "empty");
    await Deno.writeTextFile(empty, " \n\n");
    await assert.rejects(
      configOf(["--token-file", empty], 0),
      (e) =>
        e instanceof ConfigError && e.message === `--token-file ${JSON.stringify(empty)} is empty`,
    );
  }));

Deno.test("--allowed-hosts: names by commas, or an array in the file; a bad one exits 2", () => {
  assert.deepEqual(resolve([]).allowedHosts, []);
  assert.deepEqual(resolve(["--allowed-hosts", "vigil.local,proxy:443"]).allowedHosts, [
    "vigil.local",
    "proxy:443",
  ]);
  assert.deepEqual(resolve([], { "allowed-hosts": ["a.local"] }).allowedHosts, ["a.local"]);
  assert.throws(
    () => resolve(["--allowed-hosts", "http://x/"]),
    (e) => e instanceof ConfigError && /--allowed-hosts: "http:\/\/x\/"/.test(e.message),
  );
});

Deno.test("flags override the config file, the file overrides defaults", () => {
  const c = resolve(["--machines=4", "--port", "0"], { machines: 2, window: 7 });
  assert.equal(c.machines, 4);
  assert.equal(c.window, 7);
  assert.equal(c.port, 0);
  assert.deepEqual(resolve(["--source", "file:/x.csv"]).source, {
    kind: "file",
    target: "file:/x.csv",
  });
});

Deno.test("token comes from VIGIL_TOKEN unless --token is given", () => {
  assert.equal(resolve([], {}, { VIGIL_TOKEN: "env" }).token, "env");
  assert.equal(resolve(["--token", "flag"], {}, { VIGIL_TOKEN: "env" }).token, "flag");
});

Deno.test("bad values name the flag and the value", () => {
  const cases: [string[], RegExp][] = [
    [["--machines", "0"], /^bad value for --machines: "0"/],
    [["--port", "70000"], /^bad value for --port: "70000"/],
    [["--window", "2.5"], /^bad value for --window: "2.5"/],
    [["--interval", "fast"], /^bad value for --interval: "fast"/],
    [["--source", "ftp"], /^bad value for --source: "ftp"/],
    [["--format", "xml"], /^bad value for --format: "xml"/],
    [["--nope", "1"], /^unknown flag --nope$/],
    [["--machines"], /^flag --machines needs a value$/],
    [["--simulator-only", "--processor-only"], /exclude each other/],
  ];
  for (const [args, re] of cases) {
    assert.throws(
      () => resolve(args),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      args.join(" "),
    );
  }
  assert.throws(
    () => resolve([], { channels: { speed: { alert: [10, 1] } } }),
    /bad value for config key "channels" at speed\.alert: \[10,1\]/,
  );
  assert.throws(() => resolve([], { colour: "red" }), /unknown config key "colour"/);
});

Deno.test("formatOf picks the format by extension unless given", () => {
  assert.equal(formatOf("a.csv", null), "csv");
  assert.equal(formatOf("a.jsonl", null), "json");
  assert.equal(formatOf("a.kv", null), "kv");
  assert.equal(formatOf("a.csv", "json"), "json");
});

Deno.test("defaultProfileOf: generic only when no channel is one of the machine profile's", () => {
  assert.equal(defaultProfileOf(["value"]), "generic");
  // SKAB: `Temperature` is not `temperature` (the profile's limits go by exact name).
  assert.equal(defaultProfileOf(["Temperature", "Voltage", "Pressure"]), "generic");
  assert.equal(defaultProfileOf(["value", "speed"]), "machine");
  assert.equal(defaultProfileOf([]), "machine");
  assert.equal(defaultProfileOf(null), "machine");
  // An inherited name is no channel of the profile.
  assert.equal(defaultProfileOf(["toString"]), "generic");
});

Deno.test("inputChannels: the CSV header, the first JSONL record, the Parquet schema", () =>
  inTempDir(async (dir) => {
    const at = (name: string, text: string) => {
      const p = join(dir, name);
      Deno.writeTextFileSync(p, text);
      return p;
    };
    assert.deepEqual(
      await inputChannels(at("nab.csv", "timestamp,value\n2014-01-01 00:00:00,1\n"), null),
      ["value"],
    );
    // `;`, no time column by name (the first is the time), reserved columns left out.
    assert.deepEqual(
      await inputChannels(at("s.csv", "\n\ndatum;Machine;a;b\n1;m;2;3\n"), null),
      ["a", "b"],
    );
    assert.deepEqual(
      await inputChannels(
        at("r.jsonl", '{"timestamp":1,"machine":"m1","status":"OK","value":2,"note":"x"}\n'),
        null,
      ),
      ["value"],
    );
    assert.equal(await inputChannels(at("d.kv", "T:20,V:5\n"), null), null);
    assert.equal(await inputChannels(at("bad.jsonl", "not json\n"), null), null);
    assert.equal(await inputChannels(at("empty.csv", ""), null), null);
    assert.equal(await inputChannels(join(dir, "missing.csv"), null), null);
    const parquet = join(dir, "p.parquet");
    await Deno.writeFile(
      parquet,
      new Uint8Array(parquetWriteBuffer({
        columnData: [
          { name: "timestamp", type: "TIMESTAMP", data: [new Date(0)] },
          { name: "machine", type: "STRING", data: ["m1"] },
          { name: "value", type: "DOUBLE", data: [1.5] },
        ],
      })),
    );
    assert.deepEqual(await inputChannels(parquet, null), ["value"]);
  }));

Deno.test("configOf: a file of other channels runs generic unless a profile is given", () =>
  inTempDir(async (dir) => {
    const nab = join(dir, "nab.csv");
    await Deno.writeTextFile(nab, "timestamp,value\n2014-01-01 00:00:00,1\n");
    const replayed = await configOf([nab], 1);
    assert.equal(replayed.profile, "generic");
    assert.match(replayed.profileNote ?? "", /^profile generic: the channels of .*\(value\)/);
    // `start --source file:` too.
    const started = await configOf(["--source", `file:${nab}`], 0);
    assert.equal(started.profile, "generic");
    // Given by flag or by the config file, the profile stays; no note.
    for (const args of [["--profile", "machine"], ["--config", join(dir, "c.json")]]) {
      await Deno.writeTextFile(join(dir, "c.json"), '{"profile": "machine"}');
      const given = await configOf([nab, ...args], 1);
      assert.equal(given.profile, "machine", args.join(" "));
      assert.equal(given.profileNote, null);
    }
    // A machine-like file, and a live source, keep the usual default.
    const line = join(dir, "line.jsonl");
    await Deno.writeTextFile(line, '{"timestamp":0,"temperature":20,"vibration":1}\n');
    assert.equal((await configOf([line], 1)).profile, "machine");
    assert.equal((await configOf([], 0)).profile, "machine");
    // The device's formats keep theirs.
    const kv = join(dir, "d.kv");
    await Deno.writeTextFile(kv, "T:20,V:5\n");
    assert.equal((await configOf([kv], 1)).profile, "device");
  }));

Deno.test("--incident-window: seconds, 60 by default, 0–86400; a bad value names the flag", () => {
  assert.equal(resolve([]).incidentWindow, 60);
  assert.equal(resolve(["--incident-window", "0"]).incidentWindow, 0);
  assert.equal(resolve([], { "incident-window": 300 }).incidentWindow, 300);
  assert.throws(
    () => resolve(["--incident-window", "-5"]),
    (e) => e instanceof ConfigError && /^bad value for --incident-window: "-5"/.test(e.message),
  );
});
