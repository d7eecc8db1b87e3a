import { ensureStream } from "../engine/mod.ts";
/**
 * Publishes a JSONL file of readings to NATS JetStream, one reading per message on
 * `SUBJECT.<machine>` (the server's mapping then routes it to its partition), waiting for
 * every acknowledgement. For demos, tests and the benchmark:
 *
 *   deno run --allow-net=127.0.0.1 --allow-read tools/nats_publish.ts \
 *     --server 127.0.0.1:4222 [--subject telemetry] FILE.jsonl
 *
 * Prints one JSON line: `{"published","seconds","per_sec"}`.
 * @module
 */

/** Options of {@linkcode publishReadings}. */
export interface PublishOptions {
  /** `HOST:PORT` of the NATS server. */
  server: string;
  /** @default {"telemetry"} */
  subject?: string;
  /** Publishes awaiting their acknowledgement, at most. @default {1000} */
  window?: number;
}

/**
 * Publishes JSON lines (each must hold a string `machine`; blank lines are skipped) and
 * resolves with the count once the stream has acknowledged every one.
 * @throws {Error} naming a line that is not a JSON reading with a `machine`, or a publish
 * JetStream refused (no stream captures the mapped subject).
 */
export async function publishReadings(
  lines: Iterable<string>,
  options: PublishOptions,
): Promise<number> {
  const { connect } = await import("nats");
  const nc = await connect({ servers: options.server });
  // The stream must exist before the first publish (else "503 no responders"): the engines
  // create it too, whoever comes first.
  await ensureStream(await nc.jetstreamManager());
  const js = nc.jetstream();
  const subject = options.subject ?? "telemetry";
  const window = options.window ?? 1000;
  const encoder = new TextEncoder();
  const inFlight = new Set<Promise<unknown>>();
  let n = 0;
  let failure: unknown = null;
  try {
    for (const line of lines) {
      if (line.trim() === "") continue;
      let machine: unknown;
      try {
        machine = (JSON.parse(line) as { machine?: unknown }).machine;
      } catch {
        machine = undefined;
      }
      if (typeof machine !== "string" || machine === "" || /[\s.*>]/.test(machine)) {
        throw new Error(`line ${n + 1} is not a reading with a usable machine: ${line}`);
      }
      while (inFlight.size >= window) await Promise.race(inFlight);
      if (failure) throw failure;
      const p: Promise<unknown> = js.publish(`${subject}.${machine}`, encoder.encode(line))
        .catch((e) => failure ??= e)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      n++;
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
  } finally {
    await nc.close();
  }
  return n;
}

if (import.meta.main) {
  const args = [...Deno.args];
  let server = "127.0.0.1:4222";
  let subject = "telemetry";
  let file: string | undefined;
  while (args.length > 0) {
    const a = args.shift()!;
    if (a === "--server") server = args.shift() ?? "";
    else if (a === "--subject") subject = args.shift() ?? "";
    else file = a;
  }
  if (!file || !server || !subject) {
    console.error("usage: nats_publish.ts --server HOST:PORT [--subject telemetry] FILE.jsonl");
    Deno.exit(2);
  }
  const started = performance.now();
  const text = await Deno.readTextFile(file);
  const n = await publishReadings(text.split("\n"), { server, subject });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({
    published: n,
    seconds: Math.round(seconds * 1000) / 1000,
    per_sec: Math.round(n / seconds),
  }));
}
