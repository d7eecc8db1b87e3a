/**
 * How command-line arguments split into flags and positionals (`parseFlags` of start, replay
 * and eval; `commandFlags` of train and score): every accepted form and every error message.
 * @module
 */
import assert from "node:assert/strict";
import { commandFlags } from "../../cli/_flags.ts";
import { ConfigError, parseFlags, resolveConfig } from "../../engine/mod.ts";

/** The ConfigError message of `f`, failing when it throws nothing or something else. */
function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
    return e.message;
  }
  assert.fail("no error thrown");
}

Deno.test("flags: --name value and --name=value (a value may hold = or be empty)", () => {
  assert.deepEqual(parseFlags(["--machines", "3", "--port=0"]), {
    flags: { machines: "3", port: "0" },
    positional: [],
  });
  assert.deepEqual(parseFlags(["--webhook=http://h/x?a=b", "--token="]).flags, {
    webhook: "http://h/x?a=b",
    token: "",
  });
  // The last of a repeated flag wins.
  assert.deepEqual(parseFlags(["--seed", "1", "--seed=2"]).flags, { seed: "2" });
});

Deno.test("flags: boolean flags take no value; with =value the schema judges it", () => {
  assert.deepEqual(parseFlags(["--simulator-only", "--machines", "2"]).flags, {
    "simulator-only": true,
    machines: "2",
  });
  // What follows a boolean flag is no value of it: a positional.
  assert.deepEqual(parseFlags(["--processor-only", "day1.jsonl"]), {
    flags: { "processor-only": true },
    positional: ["day1.jsonl"],
  });
  assert.deepEqual(parseFlags(["--processor-only"]).flags, { "processor-only": true });
  assert.deepEqual(parseFlags(["--simulator-only=yes"]).flags, { "simulator-only": "yes" });
});

Deno.test("flags: positionals before, between and after flags, in order", () => {
  assert.deepEqual(parseFlags(["day1.jsonl", "--rate", "10"]), {
    flags: { rate: "10" },
    positional: ["day1.jsonl"],
  });
  assert.deepEqual(parseFlags(["--rate", "10", "a", "--window", "5", "b"]), {
    flags: { rate: "10", window: "5" },
    positional: ["a", "b"],
  });
  // A single dash or a short option is no flag of Vigil: a positional, as written.
  assert.deepEqual(parseFlags(["-", "-1", "-abc"]).positional, ["-", "-1", "-abc"]);
});

Deno.test("flags: a value may start with a dash (--z-threshold -1, --machines -h)", () => {
  assert.deepEqual(parseFlags(["--z-threshold", "-1"]).flags, { "z-threshold": "-1" });
  assert.deepEqual(parseFlags(["--machines", "-h"]).flags, { machines: "-h" });
  assert.deepEqual(parseFlags(["--z-threshold=-1"]).flags, { "z-threshold": "-1" });
  // ... and then the schema names it.
  assert.equal(
    messageOf(() => resolveConfig(parseFlags(["--z-threshold", "-1"]).flags)),
    'bad value for --z-threshold: "-1" (Too small: expected number to be >0)',
  );
});

Deno.test("flags: a value-taking flag last or before another --flag needs a value", () => {
  assert.equal(messageOf(() => parseFlags(["--machines"])), "flag --machines needs a value");
  assert.equal(
    messageOf(() => parseFlags(["x.jsonl", "--rate", "--window", "5"])),
    "flag --rate needs a value",
  );
  assert.equal(messageOf(() => parseFlags(["--token", "--"])), "flag --token needs a value");
  assert.equal(
    messageOf(() => parseFlags(["--data-dir", "--json"])),
    "flag --data-dir needs a value",
  );
});

Deno.test('flags: "--" and a flag without a name are bad flags', () => {
  assert.equal(messageOf(() => parseFlags(["--"])), 'bad flag "--"');
  assert.equal(messageOf(() => parseFlags(["x.jsonl", "--", "y"])), 'bad flag "--"');
  assert.equal(messageOf(() => parseFlags(["--=x"])), 'bad flag "--=x"');
});

Deno.test("flags: a flag outside the config schema is an unknown flag", () => {
  const unknown = (args: string[]) => messageOf(() => resolveConfig(parseFlags(args).flags));
  assert.equal(unknown(["--nope", "1"]), "unknown flag --nope");
  assert.equal(unknown(["--nope=1"]), "unknown flag --nope");
  assert.equal(unknown(["--machines", "2", "--colour", "red"]), "unknown flag --colour");
  // Named as unknown by parseFlags itself, even with no value after it (before parseArgs:
  // "flag --colour needs a value"), and before a positional count is checked.
  assert.equal(messageOf(() => parseFlags(["--colour"])), "unknown flag --colour");
  assert.equal(
    messageOf(() => parseFlags(["x", "y", "--colour", "--port", "1"])),
    "unknown flag --colour",
  );
  assert.equal(messageOf(() => parseFlags(["--__proto__", "x"])), "unknown flag --__proto__");
  assert.equal(messageOf(() => parseFlags(["--toString"])), "unknown flag --toString");
});

Deno.test("parseFlags: a FlagSpec gives a command its own flags and wording", () => {
  const spec = {
    values: ["port", "rate"],
    booleans: ["dry-run"],
    unknown: (name: string) => `emulate: unknown flag --${name}`,
  };
  assert.deepEqual(parseFlags(["--port", "/dev/x", "--dry-run", "--rate=2"], spec).flags, {
    port: "/dev/x",
    "dry-run": true,
    rate: "2",
  });
  assert.equal(
    messageOf(() => parseFlags(["--machines", "2"], spec)),
    "emulate: unknown flag --machines",
  );
  assert.equal(messageOf(() => parseFlags(["--rate"], spec)), "flag --rate needs a value");
});

Deno.test("commandFlags: only the command's flags, each with a value, no positional", () => {
  assert.deepEqual(
    commandFlags("score", ["--model", "m.json", "--input=in.csv"], ["model", "input", "out"]),
    { model: "m.json", input: "in.csv" },
  );
  assert.deepEqual(commandFlags("train", ["--seed", "-1"], ["seed"]), { seed: "-1" });
  assert.equal(
    messageOf(() => commandFlags("score", ["--colour", "red"], ["model", "input"])),
    "score: unknown flag --colour; flags: --model, --input",
  );
  assert.equal(
    messageOf(() => commandFlags("score", ["--simulator-only"], ["model"])),
    "score: unknown flag --simulator-only; flags: --model",
  );
  assert.equal(
    messageOf(() => commandFlags("train", ["in.csv"], ["input"])),
    'train: unexpected argument "in.csv"',
  );
  assert.equal(
    messageOf(() => commandFlags("train", ["--input"], ["input"])),
    "flag --input needs a value",
  );
  assert.equal(messageOf(() => commandFlags("train", ["--"], ["input"])), 'bad flag "--"');
});
