/**
 * What a bad reading, a damaged data directory, a busy port or a second instance does to a real
 * Vigil process: a clear line and a known exit code, never a stack trace, never torn outputs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FILES } from "../../engine/core/files.ts";
import { runVigil } from "../helpers.ts";

Deno.test("replay: a timestamp out of the Date range is a parser error, not a crash", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = join(tmp, "in.jsonl");
    await Deno.writeTextFile(
      input,
      [
        '{"timestamp":0,"temperature":1}',
        '{"timestamp":1e20,"temperature":1}',
        '{"timestamp":-1e308,"temperature":1}',
        '{"timestamp":2000,"temperature":2}',
        "",
      ].join("\n"),
    );
    const out = await runVigil(["replay", input, "--data-dir", join(tmp, "d")], {
      perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
    });
    assert.equal(out.code, 0, out.stderr);
    const summary = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.readings, 2);
    assert.equal(summary.errors, 2);
    const errors = await Deno.readTextFile(join(tmp, "d", FILES.errors));
    assert.match(errors, /bad timestamp: 100000000000000000000/);
    assert.match(errors, /bad timestamp: -1e\+308/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
