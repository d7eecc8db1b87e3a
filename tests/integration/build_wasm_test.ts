/**
 * tools/build_wasm.ts as a real process: content-hash stamps (compile once, then nothing until an
 * input changes, then exactly the affected modules), a compile error, and stdout kept clean for
 * `deno task score … > out.csv`.
 *
 * The build runs with `--root` on a temporary copy of `assembly/lib/` and two of the modules
 * (iforest, adaptive): two are enough to show that one changes and the other is left alone, and
 * each compile costs seconds on the shared machine.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

const MODULES = ["adaptive", "iforest"] as const;
type Module = typeof MODULES[number];

interface BuildRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The modules the run compiled, from its `compiled assembly/NAME.ts` lines. */
  compiled: string[];
}

async function buildWasm(root: string, ...flags: string[]): Promise<BuildRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "-A", join(ROOT, "tools/build_wasm.ts"), "--root", root, ...flags],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const compiled = [...stderr.matchAll(/compiled assembly\/(\w+)\.ts/g)].map((m) => m[1]!).sort();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr, compiled };
}

/** Each module's stamp text and its .wasm's mtime: what a no-op must leave exactly as it was. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  for (const m of MODULES) {
    const wasm = join(root, "build/wasm", `${m}.wasm`);
    state[`${m} stamp`] = await Deno.readTextFile(wasm + ".stamp");
    state[`${m} mtime`] = String((await Deno.stat(wasm)).mtime?.getTime());
  }
  return state;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function append(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { append: true });
}

Deno.test("build_wasm: stamps compile once, then only what changed", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "vigil-build-wasm-" });
  const asm = join(root, "assembly");
  const wasmOf = (m: Module) => join(root, "build/wasm", `${m}.wasm`);
  try {
    await Deno.mkdir(join(asm, "lib"), { recursive: true });
    for await (const e of Deno.readDir(join(ROOT, "assembly/lib"))) {
      await Deno.copyFile(join(ROOT, "assembly/lib", e.name), join(asm, "lib", e.name));
    }
    for (const m of MODULES) {
      await Deno.copyFile(join(ROOT, "assembly", `${m}.ts`), join(asm, `${m}.ts`));
    }

    await t.step("a fresh tree (no build/) compiles every module", async () => {
      const run = await buildWasm(root);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.compiled, [...MODULES]);
      assert.equal(run.stdout, "", "build messages belong on stderr");
      for (const m of MODULES) {
        assert.ok(WebAssembly.validate(await Deno.readFile(wasmOf(m))), `${m}.wasm is not valid`);
        assert.match(await Deno.readTextFile(wasmOf(m) + ".stamp"), /^inputs [0-9a-f]{64}$/m);
      }
    });

    await t.step("a second build compiles nothing and changes nothing", async () => {
      const before = await snapshot(root);
      const run = await buildWasm(root);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.compiled, []);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, "", "the no-op path prints nothing");
      assert.deepEqual(await snapshot(root), before);
    });

    await t.step("touching a lib file without changing it compiles nothing", async () => {
      const lib = join(asm, "lib/memory.ts");
      await Deno.utime(lib, new Date(), new Date(Date.now() + 60_000));
      const before = await snapshot(root);
      const run = await buildWasm(root);
      assert.deepEqual(run.compiled, []);
      assert.deepEqual(await snapshot(root), before);
    });

    await t.step("a changed lib file rebuilds every module", async () => {
      const before = await snapshot(root);
      await append(join(asm, "lib/memory.ts"), "\n// changed by build_wasm_test\n");
      const run = await buildWasm(root);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.compiled, [...MODULES]);
      const after = await snapshot(root);
      for (const m of MODULES) assert.notEqual(after[`${m} stamp`], before[`${m} stamp`]);
    });

    await t.step("a changed module rebuilds that module only", async () => {
      const before = await snapshot(root);
      await append(join(asm, "adaptive.ts"), "\n// changed by build_wasm_test\n");
      const run = await buildWasm(root);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.compiled, ["adaptive"]);
      const after = await snapshot(root);
      assert.notEqual(after["adaptive stamp"], before["adaptive stamp"]);
      assert.equal(after["iforest stamp"], before["iforest stamp"]);
      assert.equal(after["iforest mtime"], before["iforest mtime"]);
    });

    await t.step("a deleted .wasm is rebuilt, its neighbour is not", async () => {
      await Deno.remove(wasmOf("iforest"));
      const run = await buildWasm(root);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.compiled, ["iforest"]);
      assert.ok(WebAssembly.validate(await Deno.readFile(wasmOf("iforest"))));
    });

    await t.step("a compile error exits 1 with the diagnostics and leaves no stamp", async () => {
      await append(join(asm, "adaptive.ts"), '\nexport function broken(): i32 { return "x"; }\n');
      const iforestBefore = await Deno.readTextFile(wasmOf("iforest") + ".stamp");
      const run = await buildWasm(root);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /TS2322/); // the compiler's own diagnostic (type mismatch)
      assert.match(run.stderr, /build_wasm: assembly\/adaptive\.ts:/);
      assert.equal(await exists(wasmOf("adaptive") + ".stamp"), false, "a stale stamp was left");
      assert.equal(await Deno.readTextFile(wasmOf("iforest") + ".stamp"), iforestBefore);
    });

    await t.step("a bad flag exits 2 with one line naming it", async () => {
      // The argument as written: unknown, without its value, with a value it takes none, a
      // positional, and "--".
      for (const arg of ["--fast", "--root", "--force=1", "x", "--"]) {
        const run = await buildWasm(root, arg);
        assert.equal(run.code, 2, arg);
        assert.equal(
          run.stderr,
          `build_wasm: unknown or incomplete argument ${JSON.stringify(arg)} ` +
            "(accepted: --root DIR, --force)\n",
        );
      }
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task score: stdout holds only the scores (build messages go to stderr)", async () => {
  const fixtures = join(ROOT, "tests/fixtures/iforest");
  const input = join(fixtures, "pump_input.csv");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "score", "--model", join(fixtures, "pump_model.json"), "--input", input],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  const inputLines = (await Deno.readTextFile(input)).trimEnd().split("\n");
  assert.equal(lines[0], `${inputLines[0]},score_samples,decision_function`);
  assert.equal(lines.length, inputLines.length);
  for (const [i, line] of lines.slice(1).entries()) {
    const fields = line.split(",");
    assert.equal(fields.length, inputLines[0]!.split(",").length + 2, `stdout line ${i + 2}`);
    assert.ok(Number.isFinite(Number(fields.at(-1))), `stdout line ${i + 2}: ${line}`);
  }
});
