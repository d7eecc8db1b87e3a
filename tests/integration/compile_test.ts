/**
 * `deno task compile` where the runtime download cannot succeed (a proxy on a closed port stands
 * for "offline", whatever this machine's network): one line naming what it needs to download,
 * and a non-zero exit, instead of deno's five-cause stack.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { downloadFailure } from "../../tools/compile.ts";

Deno.test("deno task compile offline: one line naming the runtime download, exit non-zero", async () => {
  const out = await new Deno.Command("deno", {
    args: ["task", "compile"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", HTTPS_PROXY: "http://127.0.0.1:1", https_proxy: "http://127.0.0.1:1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("Task "));
  if (out.success) {
    // The runtime was in the Deno cache already: the binary is built.
    assert.ok((await Deno.stat(join(ROOT, "dist", "vigil"))).isFile, stderr);
    return;
  }
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^compile: needs to download the Deno runtime the binary is built from \(denort\) from https:\/\/dl\.deno\.land\/\S+\/denort-\S+\.zip and cannot \(.+\): .*DENORT_BIN/,
  );
});

Deno.test("a compile failure that is not a download is left to deno's own message", () => {
  assert.equal(downloadFailure('error: Module not found "file:///x.ts".', "2.9.6"), null);
});
