import assert from "node:assert/strict";
import { ConfigError, type SourceDefinition, SourceRegistry } from "../../engine/mod.ts";
import { SOURCES } from "../../cli/sources.ts";

const stub = (scheme: string, flags?: string[]): SourceDefinition => ({
  scheme,
  usage: `${scheme}X`,
  flags,
  open: () => Promise.reject(new Error("not opened in this test")),
});

Deno.test("source registry: finds by scheme, names the value and the forms it accepts", () => {
  const sources = new SourceRegistry().register(stub("simulator")).register(stub("file:"));
  assert.equal(sources.find("simulator")?.scheme, "simulator");
  assert.equal(sources.find("file:/a.csv")?.scheme, "file:");
  // A prefix needs something after it; the whole-value scheme matches only itself.
  assert.equal(sources.find("file:"), undefined);
  assert.equal(sources.find("simulator2"), undefined);
  assert.throws(
    () => sources.get("ftp://x"),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message === 'bad value for --source: "ftp://x" (must be simulatorX, file:X)',
  );
  assert.throws(() => sources.register(stub("file:")), /registered twice/);
});

Deno.test("source registry: a flag only another source reads is refused, naming it", () => {
  const sources = new SourceRegistry().register(stub("simulator")).register(
    stub("nats://", ["partition"]),
  );
  sources.checkFlags("nats://h/s", { partition: "1/3", machines: "2" });
  assert.throws(
    () => sources.checkFlags("simulator", { partition: "1/3" }),
    (e: Error) =>
      e instanceof ConfigError && e.message === "--partition 1/3 applies to --source nats://X only",
  );
});

Deno.test("the CLI registers every source the docs list", () => {
  for (
    const target of ["simulator", "file:a.csv", "serial:/dev/ttyS0", "mqtt://h/t", "nats://h/s"]
  ) {
    assert.ok(SOURCES.find(target), target);
  }
});
