/**
 * A full disk, for real: the data directory on a small tmpfs that replay and the live engine
 * fill. Each must stop with one line naming the file (`disk full writing <file>`), exit 2, and
 * leave every file at its last checkpoint, so that a restart once there is space gives outputs
 * byte-identical to a run that never met a full disk. Mounting needs root (as here and in CI);
 * where it is refused, the tests are skipped, saying why.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { generateReadings } from "../../simulator/mod.ts";
import { ROOT, runVigil, startVigil } from "../helpers.ts";
import { FILES, formatReading } from "../../engine/mod.ts";

/** Whether this process may mount a tmpfs (root, not in a locked-down container). */
function canMount(): boolean {
  const dir = Deno.makeTempDirSync();
  try {
    const ok = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
    if (ok) new Deno.Command("umount", { args: [dir] }).outputSync();
    return ok;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir);
  }
}

const MOUNT = canMount();
if (!MOUNT) console.warn("disk_full_test: skipped, `mount -t tmpfs` is not permitted here");

async function sh(command: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A tmpfs of `size` (`2m`) at a new directory; `grow` remounts it larger (space freed). */
async function tmpfs(size: string) {
  const dir = await Deno.makeTempDir();
  await sh("mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
  return {
    dir,
    grow: (to: string) => sh("mount", "-o", `remount,size=${to}`, dir),
    [Symbol.asyncDispose]: async () => {
      await sh("umount", dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The stop line and nothing more alarming: no stack, no raw ENOSPC, no failed rollback. */
function assertOneLine(stderr: string, dir: string): void {
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("processor: warn:"));
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    new RegExp(`^vigil: disk full writing ${dir}/[\\w./]+: free some space there`),
  );
  assert.doesNotMatch(stderr, /ENOSPC|rollback|\n\s+at /);
}

/** Every derived file is exactly as long as the checkpoint says; no temporary file is left. */
async function assertAtCheckpoint(dir: string): Promise<{ lines: number }> {
  const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
  for (const [name, size] of Object.entries(cp.files as Record<string, number>)) {
    assert.equal((await Deno.stat(join(dir, name))).size, size, `${name} is not at the checkpoint`);
  }
  for await (const e of Deno.readDir(dir)) assert.ok(!e.name.endsWith(".tmp"), e.name);
  return cp;
}

const COMPARED = [FILES.analysis, FILES.anomalies, FILES.report, FILES.errors];

Deno.test({
  name: "replay on a full disk: one line naming the file, exit 2, files at the checkpoint, resumes",
  ignore: !MOUNT,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      const lines = [...generateReadings({
        machines: 50,
        seed: 11,
        count: 20_000,
        start: Date.UTC(2026, 0, 1),
        intervalMs: 2000,
        faultRate: 0.02,
      })].map(formatReading);
      lines.splice(500, 0, "T:oops this is not JSON");
      const input = join(tmp, "input.jsonl");
      await Deno.writeTextFile(input, lines.join("\n") + "\n"); // 2.2 MB: more than the disk
      const ref = await runVigil(["replay", input, "--data-dir", join(tmp, "ref")]);
      assert.equal(ref.code, 0, ref.stderr);

      await using disk = await tmpfs("2m");
      const dir = join(disk.dir, "data");
      const full = await runVigil(["replay", input, "--data-dir", dir]);
      assert.equal(full.code, 2, full.stderr);
      assertOneLine(full.stderr, dir);
      const cp = await assertAtCheckpoint(dir);
      assert.ok(cp.lines > 0 && cp.lines < lines.length, `checkpoint at line ${cp.lines}`);

      await disk.grow("16m");
      const again = await runVigil(["replay", input, "--data-dir", dir]);
      assert.equal(again.code, 0, again.stderr);
      for (const f of [...COMPARED, FILES.stream, FILES.checkpoint]) {
        const [a, b] = await Promise.all(
          [dir, join(tmp, "ref")].map((d) => Deno.readFile(join(d, f))),
        );
        assert.deepEqual(a, b, `${f} differs from an uninterrupted run`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "live engine on a full disk: one line, exit 2, files at the checkpoint, the log resumes",
  ignore: !MOUNT,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      await using disk = await tmpfs("2m");
      const dir = join(disk.dir, "data");
      // 50 machines every 10 ms fill 2 MB within seconds; the signal only guards a hang.
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "main.ts",
          "start",
          "--data-dir",
          dir,
          "--port",
          "0",
          "--machines",
          "50",
          "--interval",
          "0.01",
          "--seed",
          "3",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
        signal: AbortSignal.timeout(180_000),
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 2, stderr);
      assertOneLine(stderr, dir);
      await assertAtCheckpoint(dir);
      const log = await Deno.readTextFile(join(dir, FILES.stream));
      assert.ok(log.endsWith("\n"), "the input log ends with a torn line");
      const db = new DatabaseSync(join(dir, "history.sqlite"));
      try {
        assert.equal(db.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
      } finally {
        db.close();
      }

      // Space again: the processor takes the log to its end from the checkpoint; the outputs
      // are those of one uninterrupted replay of the same log.
      await disk.grow("64m");
      const total = log.split("\n").length - 1;
      await Deno.writeTextFile(join(tmp, "log.jsonl"), log);
      const ref = await runVigil([
        "replay",
        join(tmp, "log.jsonl"),
        "--data-dir",
        join(tmp, "ref"),
      ]);
      assert.equal(ref.code, 0, ref.stderr);
      const vigil = await startVigil(["--processor-only", "--data-dir", dir, "--port", "0"]);
      for (let i = 0; i < 600; i++) {
        const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
        if (cp.lines === total) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await vigil.stop("SIGTERM")).code, 0, vigil.stderr());
      for (const f of COMPARED) {
        const [a, b] = await Promise.all(
          [dir, join(tmp, "ref")].map((d) => Deno.readTextFile(join(d, f))),
        );
        assert.ok(a === b, `${f} differs from an uninterrupted run`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
