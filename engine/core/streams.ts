/**
 * Stream helpers that sources and the CLI share.
 * @module
 */
import type { Batch } from "./batch.ts";
import type { Reading } from "./types.ts";

/**
 * The chunks of `first`, then those of the stream `next()` makes: `next` is called only once
 * `first` is drained, so a live source starts after history has been re-read.
 *
 * @example
 * ```ts
 * import { concatStreams } from "./streams.ts";
 *
 * const both = concatStreams(ReadableStream.from([1, 2]), () => ReadableStream.from([3]));
 * await Array.fromAsync(both); // [1, 2, 3]
 * ```
 */
export function concatStreams<T>(
  first: ReadableStream<T>,
  next: () => ReadableStream<T>,
): ReadableStream<T> {
  let reader = first.getReader();
  let second = false;
  return new ReadableStream<T>({
    async pull(controller) {
      while (true) {
        const { done, value } = await reader.read();
        if (!done) {
          controller.enqueue(value);
          return;
        }
        if (second) {
          controller.close();
          return;
        }
        second = true;
        reader = next().getReader();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Turns chunks of live readings into batches that are logged and processed.
 *
 * @example
 * ```ts
 * import { ReadingBatchStream } from "./streams.ts";
 *
 * const batches = ReadableStream.from([[]]).pipeThrough(new ReadingBatchStream());
 * ```
 */
export class ReadingBatchStream extends TransformStream<Reading[], Batch> {
  constructor() {
    super({
      transform(readings, controller) {
        controller.enqueue({
          readings,
          errors: [],
          lines: readings.length,
          suppress: false,
          log: true,
        });
      },
    });
  }
}
