/**
 * The `nats://HOST:PORT/SUBJECT` source with `--partition k/N`: partition k of the JetStream
 * stream. `stream_output.jsonl` is derived (cut back to the checkpoint, whose `lines` is the
 * stream sequence of the last committed message) and re-read as history; then the durable
 * consumer delivers from the next sequence, and each checkpoint acknowledges what it committed.
 * The partition is owned through a lease (`nats_lease.ts`), taken before anything is read.
 * @module
 */
import { ConfigError } from "../../core/config.ts";
import { concatStreams } from "../../core/streams.ts";
import type { Batch } from "../../core/batch.ts";
import type { SourceDefinition } from "../source.ts";
import type { NatsSource } from "./nats_source.ts";

/**
 * `--source nats://HOST:PORT/SUBJECT` (with `--partition k/N`, default 0/1).
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "../source.ts";
 * import { natsSource } from "./mod.ts";
 *
 * new SourceRegistry().register(natsSource).get("nats://127.0.0.1:4222/readings");
 * ```
 */
export const natsSource: SourceDefinition = {
  scheme: "nats://",
  usage: "nats://HOST:PORT/SUBJECT",
  flags: ["partition", "lease-ttl"],
  async check({ target: url, config }) {
    await sourceIdOf(url, config.partition);
    // Asked before anything starts, so that a host `deno task start` may not reach exits 2
    // naming it instead of failing the pipeline later.
    const host = /^nats:\/\/([^/]+)/.exec(url)?.[1];
    if (!host) throw new ConfigError(`bad value for --source: ${JSON.stringify(url)} has no host`);
    const net = await Deno.permissions.query({ name: "net", host });
    if (net.state !== "granted") {
      throw new Deno.errors.NotCapable(`--source ${url} needs --allow-net=${host}`);
    }
  },
  async open({ target: url, config, state, logger, signal }) {
    // Imported when opened: the registry (and so every replay) loads only this definition.
    const { NatsSource } = await import("./nats_source.ts");
    const { NatsLease } = await import("./nats_lease.ts");
    const { index, count } = config.partition ?? { index: 0, count: 1 };
    const id = await sourceIdOf(url, config.partition);
    const name = `${url}#${index}/${count}`;
    let nats: NatsSource | null = null;
    // Before the outputs are opened: a second owner exits 2 naming the first, having touched
    // nothing. Lost later (expired while unreachable, and taken), the run stops (exit 2).
    const lease = await NatsLease.acquire({
      server: /^nats:\/\/([^/]+)/.exec(url)![1]!,
      key: `vigil-p${index}-of-${count}`,
      partition: `${index}/${count} of ${url}`,
      holder: `pid ${Deno.pid}, --data-dir ${config.dataDir}`,
      ttlMs: config.leaseTtl * 1000,
    });
    return {
      id,
      name,
      streamDerived: true,
      onCommit: (lines) => nats?.commit(lines),
      batches(resume) {
        state.setSourceState(name, "starting");
        // The history's last reading (stream_output.jsonl holds every parsed reading): a
        // refused line first after a restart is logged with the time a replay gives it.
        let lastTime: number | null = null;
        const live = () => {
          nats = new NatsSource({
            url,
            partition: index,
            partitions: count,
            position: resume.lines,
            lastTime,
            signal,
            onStatus: (status, detail) => {
              state.setSourceState(
                name,
                status === "connecting" ? "starting" : status === "closed" ? "finished" : status,
              );
              logger[status === "disconnected" ? "warn" : "info"](`nats ${status}`, {
                url,
                detail,
              });
            },
          });
          return untilLost(nats.readable, lease.lost);
        };
        const history = NatsSource.history(
          resume.log({ suppressLines: Number.MAX_SAFE_INTEGER }),
          resume.lines,
          (time) => lastTime = time,
        );
        return concatStreams(history, live);
      },
      finished: async () => {
        await nats?.close();
        await lease.release();
      },
    };
  },
};

/** `readable`, erroring with `lost`'s reason as soon as it rejects (the lease taken). */
function untilLost(readable: ReadableStream<Batch>, lost: Promise<never>): ReadableStream<Batch> {
  const reader = readable.getReader();
  return new ReadableStream<Batch>({
    async pull(controller) {
      const next = await Promise.race([reader.read(), lost]);
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** The checkpoint's source id of the partition; a bad URL is a `ConfigError` naming it. */
async function sourceIdOf(
  url: string,
  partition: { index: number; count: number } | null,
): Promise<string> {
  const { index, count } = partition ?? { index: 0, count: 1 };
  const { NatsSource } = await import("./nats_source.ts");
  try {
    return NatsSource.sourceId(url, index, count);
  } catch (e) {
    throw new ConfigError(`bad value for --source: ${(e as Error).message}`);
  }
}
