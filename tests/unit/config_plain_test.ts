/**
 * `plainConfig` (the settings read without zod, for a run with no config file) against the
 * schema's `resolveConfig`: for every flag and a spread of values (plain, at and past each
 * bound, forms the schema's coercion takes, bad ones), either plainConfig leaves the value to
 * the schema (null) or both give the same configuration or the same error.
 */
import assert from "node:assert/strict";
import { ConfigError, KNOWN_FLAGS, plainConfig, resolveConfig } from "../../engine/mod.ts";
import { schema } from "../../engine/core/config_schema.ts";

/** The outcome of one resolution: the configuration, or the error's class and message. */
function outcome(resolve: () => unknown): unknown {
  try {
    return { value: resolve() };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** Asserts plainConfig agrees with resolveConfig; true when it took the values itself. */
function agrees(
  flags: Record<string, string | true>,
  env: { VIGIL_TOKEN?: string } = {},
  hints: { input?: string } = {},
): boolean {
  const expected = outcome(() => resolveConfig(flags, {}, env, hints));
  const plain = outcome(() => plainConfig(flags, {}, env, hints));
  if ("value" in (plain as object) && (plain as { value: unknown }).value === null) return false;
  assert.deepEqual(plain, expected, JSON.stringify(flags));
  return true;
}

const VALUES: (string | true)[] = [
  true,
  ...["", "0", "-0", "-1", "1", "2", "3", "5", "007", "1.5", "5.0", "1e3", " 3", "0x10", "+4"],
  ...["49", "50", "0.5", "0.01", "1.0", "3600", "3601", "10000", "10001", "65535", "65536"],
  ...["65537", "86400", "86401", "100000", "100001", "115200", "4000000", "4000001"],
  ...["4294967295", "4294967296", "99999999999999999999", "Infinity", "NaN"],
  ...["true", "false", "auto", "off", "max", "realtime", "0/1", "1/3", "3/3", "0/0", "12345/1"],
  ...["simulator", "file:/x.jsonl", "file:", "mqtt://h:1883/t", "mqtts://h", "nats://h/s", "foo"],
  ...["json", "csv", "kv", "raw", "parquet", "machine", "device", "vibration", "generic"],
  ...["adaptive", "zscore", "a.local", "a.local,b:443", "http://x/", "a b", "x", "./data"],
  ...["http://h:8086/db", "https://h/x", "http://h/x,http://h/y", "vigil/{machine}/rows"],
];

Deno.test("KNOWN_FLAGS are the schema's keys and config", () => {
  assert.deepEqual([...KNOWN_FLAGS], [...Object.keys(schema.shape), "config"]);
});

Deno.test("with no flags, plainConfig gives the schema's defaults", () => {
  assert.ok(agrees({}));
  assert.ok(agrees({}, { VIGIL_TOKEN: "secret" }));
  assert.ok(agrees({}, {}, { input: "day1.csv" }));
});

Deno.test("every flag and value: plainConfig leaves it to the schema or agrees with it", () => {
  let plain = 0, total = 0;
  for (const name of KNOWN_FLAGS) {
    if (name === "config") continue;
    for (const value of VALUES) {
      total++;
      if (agrees({ [name]: value })) plain++;
      if (agrees({ [name]: value }, {}, { input: "day1.jsonl" })) plain++;
    }
  }
  // Most of the cases are plain: the comparison is not vacuous.
  assert.ok(plain > total / 2, `${plain} of ${2 * total} plain`);
});

Deno.test("a replay's usual flags are read without the schema, as the schema reads them", () => {
  const flags = {
    "data-dir": "out",
    rate: "10",
    format: "csv",
    detector: "zscore",
    "heartbeat-timeout": "auto",
    "processing-interval": "2",
    window: "7",
  };
  assert.ok(agrees(flags, {}, { input: "day1.csv" }));
  assert.ok(agrees({ "simulator-only": true, "processor-only": true }));
  assert.ok(agrees({ rate: "max" }));
  assert.ok(agrees({ webhook: "ftp://x" }));
});

Deno.test("config file values always go to the schema", () => {
  assert.equal(plainConfig({}, { window: 7 }), null);
  assert.throws(() => plainConfig({ colour: "red" }), ConfigError);
});
