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

/** A small recording of `n` readings of one machine, one per second. */
async function recording(dir: string, n: number): Promise<string> {
  const input = join(dir, "in.jsonl");
  const lines = Array.from(
    { length: n },
    (_, i) => JSON.stringify({ timestamp: i * 1000, temperature: 20 + (i % 7) }),
  );
  await Deno.writeTextFile(input, lines.join("\n") + "\n");
  return input;
}

Deno.test("a damaged checkpoint.json is refused with one line and exit 2, and nothing is cut", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await recording(tmp, 200);
    const data = join(tmp, "d");
    const perms = { perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`] };
    const first = await runVigil(["replay", input, "--data-dir", data], perms);
    assert.equal(first.code, 0, first.stderr);
    const cpPath = join(data, FILES.checkpoint);
    const good = await Deno.readTextFile(cpPath);
    const outputs = async () =>
      await Promise.all(
        [FILES.stream, FILES.analysis, FILES.anomalies].map((f) =>
          Deno.readTextFile(join(data, f))
        ),
      );
    const before = await outputs();
    const cp = JSON.parse(good);
    const damaged: [string, RegExp][] = [
      ["", /the file is empty/],
      [good.slice(0, good.length / 2), /not JSON/],
      ["garbage\n", /not JSON/],
      ["[]", /the checkpoint: .*expected object/],
      [JSON.stringify({ ...cp, lines: -5 }), /lines: .*>=0/],
      [JSON.stringify({ ...cp, rows: 1.5 }), /rows: .*expected int/],
      [JSON.stringify({ ...cp, version: 2 }), /version: /],
      [JSON.stringify({ ...cp, files: { [FILES.analysis]: -1 } }), /files\.analysis_output\.csv/],
      [JSON.stringify({ ...cp, source: undefined }), /source: /],
    ];
    for (const [text, reason] of damaged) {
      await Deno.writeTextFile(cpPath, text);
      const out = await runVigil(["replay", input, "--data-dir", data], perms);
      assert.equal(out.code, 2, `${JSON.stringify(text)}: ${out.stderr}`);
      const lines = out.stderr.trim().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0]!, /^vigil: .*checkpoint\.json is damaged \(/);
      assert.match(lines[0]!, reason);
      assert.match(lines[0]!, /remove it to rebuild .* or pass another --data-dir/);
      assert.deepEqual(await outputs(), before, "a refused start changes no output");
    }
    // The advice holds: without the checkpoint the outputs are rebuilt, the same bytes.
    await Deno.remove(cpPath);
    const again = await runVigil(["replay", input, "--data-dir", data], perms);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await outputs(), before);
    assert.equal(await Deno.readTextFile(cpPath), good);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
