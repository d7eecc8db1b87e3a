/**
 * The CLI as a user runs it: real processes, real HTTP on a free port, real kill -9.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateReadings } from "../../simulator/mod.ts";
import { ROOT, runVigil, startVigil, type Vigil } from "../helpers.ts";
import { FILES, formatReading, type MachineStatus, TRANSITIONS } from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

async function makeInput(dir: string, count: number, machines: number): Promise<string> {
  const path = join(dir, "input.jsonl");
  const lines = [
    ...generateReadings({
      machines,
      seed: 11,
      count,
      start: T0,
      intervalMs: 2000,
      faultRate: 0.02,
    }),
  ]
    .map(formatReading);
  lines.splice(500, 0, "T:oops this is not JSON");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

Deno.test("a bad flag exits 2 with one line naming the value", async () => {
  const out = await runVigil(["start", "--machines", "zero"], { perms: [] });
  assert.equal(out.code, 2);
  assert.equal(
    out.stderr.trim(),
    'vigil: bad value for --machines: "zero" (Invalid input: expected number, received NaN)',
  );
  const unknown = await runVigil(["launch"], { perms: [] });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "launch"/);
  const missing = await runVigil(["replay", "/nonexistent.jsonl"], { perms: ["--allow-read"] });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file \/nonexistent\.jsonl/);
});

Deno.test("a flag the parser refuses exits 2 with one line naming it", async () => {
  const cases: [string[], string][] = [
    [["start", "--"], 'vigil: bad flag "--"'],
    [["replay", "x.jsonl", "--rate"], "vigil: flag --rate needs a value"],
    [["start", "--colour", "red"], "vigil: unknown flag --colour"],
    [
      ["start", "--z-threshold", "-1"],
      'vigil: bad value for --z-threshold: "-1" (Too small: expected number to be >0)',
    ],
    [["score", "--model", "m.json", "--out"], "vigil: flag --out needs a value"],
  ];
  for (const [args, line] of cases) {
    const out = await runVigil(args, { perms: [] });
    assert.equal(out.code, 2, args.join(" "));
    assert.equal(out.stderr, line + "\n", args.join(" "));
  }
});

Deno.test("--help and -h answer from every task and every command, exit 0", async () => {
  const tasks: [string, string][] = [
    ["start", "start"],
    ["start:serial", "start"],
    ["replay", "replay"],
    ["train", "train"],
    ["score", "score"],
    ["eval", "eval"],
    ["emulate", "emulate"],
  ];
  for (const [task, command] of tasks) {
    for (const flag of ["--help", "-h"]) {
      // After other flags too: `deno task replay day1.jsonl --rate 10 --help`.
      for (const args of [[flag], ["x.jsonl", "--rate", "10", flag]]) {
        const out = await runVigil(args, { task });
        assert.equal(out.code, 0, `${task} ${args.join(" ")}: ${out.stderr}`);
        assert.equal(out.stderr, "");
        assert.ok(out.stdout.startsWith(`usage: main.ts ${command} `), out.stdout);
      }
    }
  }
  const top = await runVigil(["-h"], { perms: [] });
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^usage: main\.ts <command>/);
  const named = await runVigil(["help", "train"], { perms: [] });
  assert.equal(named.code, 0);
  assert.match(named.stdout, /^usage: main\.ts train --input FILE/);
  // `-h` as a flag's value is that value, not a request for help.
  const value = await runVigil(["start", "--machines", "-h"], { perms: [] });
  assert.equal(value.code, 2);
  assert.match(value.stderr, /bad value for --machines: "-h"/);
});

Deno.test("replay twice gives byte-identical outputs and ends with the summary line", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await makeInput(tmp, 20_000, 50);
    const summaries = [];
    for (const d of ["a", "b"]) {
      const out = await runVigil(["replay", input, "--data-dir", join(tmp, d)], {
        perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
      });
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trim().split("\n");
      summaries.push(JSON.parse(lines.at(-1)!));
    }
    for (const s of summaries) {
      assert.deepEqual(Object.keys(s), [
        "readings",
        "rows",
        "anomalies",
        "errors",
        "seconds",
        "readings_per_sec",
        "profile",
      ]);
      assert.equal(s.readings, 20_000);
      assert.equal(s.errors, 1);
    }
    assert.equal(summaries[0].rows, summaries[1].rows);
    for (
      const f of [
        FILES.stream,
        FILES.analysis,
        FILES.anomalies,
        FILES.report,
        FILES.errors,
        FILES.checkpoint,
      ]
    ) {
      const [a, b] = await Promise.all(["a", "b"].map((d) => Deno.readFile(join(tmp, d, f))));
      assert.deepEqual(a, b, f);
    }
    const rows = (await Deno.readTextFile(join(tmp, "a", FILES.analysis))).trim().split("\n");
    assert.equal(rows.length - 1, summaries[0].rows);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("--processor-only killed with -9 again and again writes each row exactly once", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await makeInput(tmp, 150_000, 200);
    // The reference: one uninterrupted replay of the same readings.
    const ref = await runVigil(["replay", input, "--data-dir", join(tmp, "ref")], {
      perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`],
    });
    assert.equal(ref.code, 0, ref.stderr);

    const dir = join(tmp, "live");
    await Deno.mkdir(dir);
    // The processor's input is the data directory's own log, as a --simulator-only run writes it.
    await Deno.copyFile(input, join(dir, FILES.stream));
    const totalLines = (await Deno.readTextFile(input)).split("\n").length - 1;
    const perms = [`--allow-read=${tmp}`, `--allow-write=${tmp}`, "--allow-net=127.0.0.1"];
    const args = ["--processor-only", "--data-dir", dir, "--port", "0"];
    const checkpointLines = () =>
      Deno.readTextFile(join(dir, FILES.checkpoint)).then(
        (t) => JSON.parse(t).lines as number,
        () => 0,
      );
    let kills = 0;
    let midway = 0;
    for (let i = 0; i < 4; i++) {
      const before = await checkpointLines();
      const vigil = await startVigil(args, { perms });
      // Kill as soon as this run has committed something new, a little later at random.
      const deadline = Date.now() + 30_000;
      while ((await checkpointLines()) <= before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      const status = await vigil.stop("SIGKILL");
      if (status.signal === "SIGKILL") kills++;
      if ((await checkpointLines()) < totalLines) midway++;
    }
    assert.ok(kills >= 3, `only ${kills} runs were killed`);
    assert.ok(midway >= 2, `only ${midway} kills happened before the end of the input`);
    // The last run goes to the end of the log, then stops cleanly on SIGTERM.
    const vigil = await startVigil(args, { perms });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
      if (cp.lines === totalLines) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await vigil.stop("SIGTERM")).code, 0);
    for (const f of [FILES.analysis, FILES.anomalies, FILES.report, FILES.errors]) {
      const [a, b] = await Promise.all([
        Deno.readTextFile(join(dir, f)),
        Deno.readTextFile(join(tmp, "ref", f)),
      ]);
      assert.ok(a === b, `${f} differs from an uninterrupted run`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno task start's command: /data, /status and a status change over HTTP", async () => {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  // The task's own command line (its permissions), without its build:wasm dependency.
  let vigil: Vigil | undefined;
  try {
    vigil = await startVigil(
      [
        "--port",
        "0",
        "--data-dir",
        dataDir,
        "--interval",
        "0.1",
        "--processing-interval",
        "0.5",
        "--seed",
        "5",
      ],
      { task: "start", timeoutMs: 120_000 },
    );
    assert.match(vigil.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const base = vigil.url;
    const get = async (path: string) => {
      const res = await fetch(new URL(path, base));
      return { status: res.status, body: await res.json() };
    };
    // Wait for a processed row, then for the machine to be RUNNING.
    let status: MachineStatus | undefined;
    for (let i = 0; i < 200; i++) {
      const s = await get("/status");
      status = s.body.data?.status;
      if ((await get("/data")).status === 200 && status === "RUNNING") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, "RUNNING");
    const data = await get("/data");
    assert.equal(data.body.success, true);
    assert.equal(typeof data.body.processed_data.temperature_moving_avg, "number");
    assert.ok("status_mode_in_window" in data.body.processed_data);

    const bad = await fetch(new URL("/status", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "STARTED" }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      success: false,
      error: "Invalid status transition from RUNNING to STARTED",
    });
    assert.ok(TRANSITIONS.RUNNING.includes("PAUSED"));

    const res = await fetch(new URL("/status", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ status: "PAUSED" }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.data.status, "PAUSED");
    assert.equal(body.data.speed, 0);
    // The reading taken at the change; a row at or after it must show the stopped machine.
    const changedAt = Date.parse(body.data.timestamp);
    // The next processed row shows the stopped machine.
    let row;
    for (let i = 0; i < 100; i++) {
      row = (await get("/data")).body.processed_data;
      if (Date.parse(row.timestamp) >= changedAt) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Date.parse(row.timestamp) >= changedAt, "no processed row after the change");
    assert.equal(row.speed_current, 0);
    assert.notEqual(row.status_current, "RUNNING");

    // The live event stream carries this machine's readings; left open, it must not keep the
    // engine from shutting down.
    const sse = await fetch(new URL("/events?machine=m1", base));
    assert.equal(sse.status, 200);
    assert.equal(sse.headers.get("content-type"), "text/event-stream");
    const sseReader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let sseText = "";
    while (!/event: reading\ndata: .*\n\n/.test(sseText)) {
      const { value, done } = await sseReader.read();
      if (done) break;
      sseText += value;
    }
    const sseReading = JSON.parse(/event: reading\ndata: (.*)\n\n/.exec(sseText)![1]!);
    assert.equal(sseReading.machine, "m1");

    assert.equal((await vigil.stop("SIGTERM")).code, 0);
    // Shutdown ended the stream rather than leaving it hanging.
    while (!(await sseReader.read()).done);
    const cp = JSON.parse(await Deno.readTextFile(join(ROOT, dataDir, FILES.checkpoint)));
    const logged = (await Deno.readTextFile(join(ROOT, dataDir, FILES.stream))).split("\n").length -
      1;
    assert.equal(cp.lines, logged, "every logged reading was processed before exit");
  } finally {
    await vigil?.stop("SIGKILL");
    await Deno.remove(join(ROOT, dataDir), { recursive: true }).catch(() => {});
  }
});

Deno.test("the engine starts with no read access outside its data directory (WASM is embedded)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const vigil = await startVigil(
      ["--data-dir", tmp, "--port", "0", "--interval", "0.05", "--processing-interval", "0.1"],
      { perms: [`--allow-read=${tmp}`, `--allow-write=${tmp}`, "--allow-net=127.0.0.1"] },
    );
    try {
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        const res = await fetch(new URL("/data", vigil.url));
        ok = res.status === 200 && (await res.json()).success === true;
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, "no processed data");
      assert.equal((await vigil.stop("SIGTERM")).code, 0);
    } finally {
      await vigil.stop("SIGKILL");
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
