/**
 * What a bad reading, a damaged data directory, a busy port or a second instance does to a real
 * Vigil process: a clear line and a known exit code, never a stack trace, never torn outputs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runVigil, startVigil, type Vigil } from "../helpers.ts";
import { FILES } from "../../engine/mod.ts";

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

/** Asserts a refused start: exit 2 and exactly one line on stderr matching `pattern`. */
function assertRefused(out: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(out.code, 2, out.stderr);
  const lines = out.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${out.stderr}`);
  assert.match(lines[0]!, /^vigil: /);
  assert.match(lines[0]!, pattern);
}

Deno.test("replay into the data directory of a live run: one line, exit 2; without --data-dir it never meets it", async () => {
  const tmp = await Deno.makeTempDir();
  const data = join(tmp, "data");
  try {
    const input = await recording(tmp, 50);
    const perms = [`--allow-read=${tmp}`, `--allow-write=${tmp}`];
    const live = await startVigil(["--port", "0", "--data-dir", data], {
      perms: [...perms, "--allow-net=127.0.0.1"],
    });
    assert.equal((await live.stop("SIGTERM")).code, 0, live.stderr());
    const into = await runVigil(["replay", input, "--data-dir", data], { perms });
    assertRefused(
      into,
      /checkpoint\.json belongs to a live run \(start\), not the input .*in\.jsonl: pass another --data-dir/,
    );

    // The README's `deno task replay FILE` (its own permissions: writes ./data only) goes to
    // a directory of its own per input file, and says where.
    const own = await runVigil([input], { task: "replay" });
    assert.equal(own.code, 0, own.stderr);
    const where = /^replay: outputs in (data\/replay\/in-[0-9a-f]{8})$/m.exec(own.stdout);
    assert.ok(where, own.stdout);
    try {
      const rows = await Deno.readTextFile(join(ROOT, where[1]!, FILES.analysis));
      assert.ok(rows.split("\n").length > 2);
      // The same file again resumes there: the same directory.
      const again = await runVigil([input], { task: "replay" });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^replay: outputs in ${where[1]}$`, "m"));
    } finally {
      await Deno.remove(join(ROOT, where[1]!), { recursive: true });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a port in use: one line naming it, exit 2, and no data directory created", async () => {
  const tmp = await Deno.makeTempDir();
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (busy.addr as Deno.NetAddr).port;
    const data = join(tmp, "data");
    const out = await runVigil(["start", "--port", String(port), "--data-dir", data], {
      perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`, "--allow-net=127.0.0.1"],
    });
    assertRefused(out, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .*--port 0`));
    await assert.rejects(() => Deno.stat(data), Deno.errors.NotFound);
  } finally {
    busy.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

/** `setpriv` drops root's power to write anywhere, so that a read-only directory is one. */
const SETPRIV = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"];
const canDropPrivileges = await new Deno.Command(SETPRIV[0]!, {
  args: [...SETPRIV.slice(1), "true"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

Deno.test({
  name: "a read-only data directory: one line naming it, exit 2 (start and replay)",
  ignore: !canDropPrivileges,
  fn: async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const input = await recording(tmp, 10);
      const data = join(tmp, "ro");
      // Read-only with its files already there, the harder case (no mkdir fails).
      await Deno.mkdir(join(data, "logs"), { recursive: true });
      await Deno.chmod(data, 0o555);
      const run = async (args: string[]) => {
        const out = await new Deno.Command(SETPRIV[0]!, {
          args: [...SETPRIV.slice(1), Deno.execPath(), "run", "-A", "main.ts", ...args],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
          env: { NO_COLOR: "1" },
        }).output();
        return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
      };
      const pattern = new RegExp(
        `data directory ${data} is not writable .*pass another --data-dir`,
      );
      assertRefused(await run(["start", "--port", "0", "--data-dir", data]), pattern);
      assertRefused(await run(["replay", input, "--data-dir", data]), pattern);
    } finally {
      await Deno.chmod(join(tmp, "ro"), 0o755).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("a second instance on one --data-dir is refused naming the first's pid; kill -9 leaves no stale lock", async () => {
  const tmp = await Deno.makeTempDir();
  const data = join(tmp, "data");
  const perms = {
    perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`, "--allow-net=127.0.0.1"],
  };
  const started: Vigil[] = [];
  const start = async (args: string[]) => {
    const v = await startVigil(["--port", "0", "--data-dir", data, ...args], perms);
    started.push(v);
    return v;
  };
  try {
    const input = await recording(tmp, 20);
    const first = await start([]);
    const pid = first.child.pid;
    assert.equal((await Deno.readTextFile(join(data, "vigil.lock"))).trim(), String(pid));
    const inUse = new RegExp(
      `data directory ${data} is in use by another Vigil process \\(pid ${pid}\\): stop it`,
    );
    assertRefused(await runVigil(["start", "--port", "0", "--data-dir", data], perms), inUse);
    assertRefused(await runVigil(["replay", input, "--data-dir", data], perms), inUse);
    for (const only of ["--simulator-only", "--processor-only"]) {
      assertRefused(
        await runVigil(["start", only, "--port", "0", "--data-dir", data], perms),
        inUse,
      );
    }

    // kill -9 leaves the lock file with its pid; the kernel released the lock itself.
    await first.stop("SIGKILL");
    const second = await start([]);
    assert.equal(
      (await Deno.readTextFile(join(data, "vigil.lock"))).trim(),
      String(second.child.pid),
    );
    assert.equal((await second.stop("SIGTERM")).code, 0);

    // A --simulator-only and a --processor-only process share a directory by design.
    const simulator = await start(["--simulator-only", "--interval", "0.05"]);
    const processor = await start(["--processor-only"]);
    assertRefused(
      await runVigil(["start", "--simulator-only", "--port", "0", "--data-dir", data], perms),
      new RegExp(`in use by another Vigil process \\(pid ${simulator.child.pid}\\)`),
    );
    assertRefused(
      await runVigil(["start", "--processor-only", "--port", "0", "--data-dir", data], perms),
      new RegExp(`in use by another Vigil process \\(pid ${processor.child.pid}\\)`),
    );
    assert.equal((await processor.stop("SIGTERM")).code, 0);
    assert.equal((await simulator.stop("SIGTERM")).code, 0);
  } finally {
    for (const v of started) await v.stop("SIGKILL");
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("replay of a CSV with a text column: its readings, and one warning naming the column", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = join(tmp, "labelled.csv");
    const rows = Array.from(
      { length: 100 },
      (_, i) => `${new Date(i * 1000).toISOString()},${20 + (i % 5)},${i % 2 ? "ok" : "check"}`,
    );
    await Deno.writeTextFile(input, ["timestamp,temperature,label", ...rows, ""].join("\n"));
    const data = join(tmp, "d");
    const out = await runVigil(["replay", input, "--data-dir", data], {
      perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
    });
    assert.equal(out.code, 0, out.stderr);
    const summary = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.equal(summary.readings, 100);
    assert.equal(summary.errors, 0);
    const note = /column "label" is not numeric \(first value "check"\): ignored/;
    assert.equal(out.stderr.split("\n").filter((l) => note.test(l)).length, 1, out.stderr);
    const log = (await Deno.readTextFile(join(data, "logs", "processor.log"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(log.filter((e) => e.level === "warn" && note.test(e.msg)).length, 1);
    const first = JSON.parse((await Deno.readTextFile(join(data, FILES.stream))).split("\n")[0]!);
    assert.deepEqual(first, {
      timestamp: "1970-01-01T00:00:00.000Z",
      machine: "m1",
      status: null,
      temperature: 20,
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
