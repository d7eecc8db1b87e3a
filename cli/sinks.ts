/**
 * The optional delivering sinks (`--webhook`, `--influx`), built alike for `start` and `replay`,
 * and how `replay`, a batch job, waits for them instead of outrunning their bounded queues.
 * @module
 */
import { join } from "node:path";
import { InfluxSink, type Logger, type Sink, WebhookSink } from "../engine/run_mod.ts";
import type { CliConfig } from "./options.ts";

/**
 * Opens the delivering sinks the settings ask for, one line each, in the order each batch
 * reaches them; each spools in its own folder of the data directory. Close them after the run.
 * @throws what a sink's `open` throws (a host not allowed by `--allow-net`: `NotCapable`).
 *
 * @example
 * ```ts
 * import { nullLogger } from "../engine/mod.ts";
 * import { configOf } from "./options.ts";
 * import { openDeliveringSinks } from "./sinks.ts";
 *
 * const config = await configOf(["--influx", "http://127.0.0.1:8086/vigil"], 0);
 * const sinks = await openDeliveringSinks(config, nullLogger); // [InfluxSink]
 * ```
 */
export async function openDeliveringSinks(config: CliConfig, logger: Logger): Promise<Sink[]> {
  const sinks: Sink[] = [];
  const dir = (name: string) => join(config.dataDir, name);
  try {
    if (config.webhooks.length > 0) {
      sinks.push(await WebhookSink.open({ urls: config.webhooks, dir: dir("webhooks"), logger }));
    }
    if (config.influx !== null) {
      sinks.push(
        await InfluxSink.open({
          url: config.influx,
          token: config.influxToken,
          dir: dir("influx"),
          logger,
        }),
      );
    }
  } catch (e) {
    for (const s of sinks) await s.close?.();
    throw e;
  }
  return sinks;
}

/**
 * Items a target may have waiting before `replay` holds its input: below the smallest default
 * queue bound (webhooks' 10,000), so that a replay never drops items by its own speed.
 */
export const REPLAY_BACKLOG = 8000;

/** How long `replay` waits for a target that delivers nothing before it stops waiting. */
const STALL_MS = 5000;

/** The most items one target has waiting, and the items done with, over the sinks' targets. */
function progress(sinks: readonly Sink[]): { most: number; delivered: number } {
  let most = 0, delivered = 0;
  for (const s of sinks) {
    for (const h of s.health?.() ?? []) {
      most = Math.max(most, h.queued);
      delivered += h.delivered + h.rejected;
    }
  }
  return { most, delivered };
}

/**
 * Resolves once no target of `sinks` has more than `backlog` items waiting, or once none has
 * delivered anything for 5 s (a target that is down: then its bounded queue drops the oldest,
 * as in `start`, rather than the replay hanging).
 *
 * @example
 * ```ts
 * import { waitForDelivery } from "./sinks.ts";
 *
 * await waitForDelivery([], 0); // nothing to wait for
 * ```
 */
export async function waitForDelivery(sinks: readonly Sink[], backlog: number): Promise<void> {
  let last = progress(sinks);
  let since = Date.now();
  while (last.most > backlog) {
    await new Promise((r) => setTimeout(r, 5));
    const now = progress(sinks);
    if (now.delivered !== last.delivered) since = Date.now();
    else if (Date.now() - since > STALL_MS) return;
    last = now;
  }
}

/**
 * `stream` held back, before each chunk, while a delivering sink has more than
 * {@linkcode REPLAY_BACKLOG} items waiting (see {@linkcode waitForDelivery}).
 *
 * @example
 * ```ts
 * import { pacedBySinks } from "./sinks.ts";
 *
 * const paced = pacedBySinks(ReadableStream.from([[1], [2]]), []);
 * ```
 */
export function pacedBySinks<T>(
  stream: ReadableStream<T>,
  sinks: readonly Sink[],
): ReadableStream<T> {
  if (!sinks.some((s) => s.health)) return stream;
  return stream.pipeThrough(
    new TransformStream<T, T>({
      async transform(chunk, controller) {
        await waitForDelivery(sinks, REPLAY_BACKLOG);
        controller.enqueue(chunk);
      },
    }),
  );
}
