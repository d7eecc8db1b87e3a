/**
 * The analyzer turns the channel fields of every reading shape it sees tagged (`taggedChannels`
 * in engine/detect/analyzer.ts, BENCHMARKS.md "Rows written where they are read"), also a shape
 * that differs from the machine's last one only past its first channel. Read from V8's own trace
 * in a process of its own (tests/fixtures/tagged_channels.ts).
 */
import assert from "node:assert/strict";
import { ROOT } from "../helpers.ts";

Deno.test("analyzer: every channel shape it reads is tagged, a later channel's change too", async () => {
  const fixture = new URL("../fixtures/tagged_channels.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--config=${ROOT}deno.json`,
      "--v8-flags=--trace-generalization",
      fixture.href,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  // `[generalizing]zz:d{Any;const}->t{Any;const} (…) [~probeTwin+29 at …]`: a double field the
  // fixture's own twin turned tagged.
  const left = new Set<string>();
  for (const m of out.matchAll(/^\[generalizing\](\w+):d\{[^\n]*probeTwin/gm)) left.add(m[1]!);
  assert.deepEqual([...left], ["zz"], "the fields the analyzer left double (zz: the control)");
});
