/**
 * Runs `each` over consecutive slices of at most `size` items, one after another: how background
 * work stays short, so that no write comes near the store timeout and the calls that callers wait
 * for go between slices. The event loop is given a turn between slices, for those calls to be
 * served even when `each` settles without waiting for anything (an in-memory store).
 */
export async function forEachChunk<T>(items: readonly T[], size: number, each: (chunk: T[]) => Promise<void>) {
  for (let from = 0; from < items.length; from += size) {
    if (from > 0) await yieldToEventLoop();
    await each(items.slice(from, from + size));
  }
}

/** The global setImmediate, which tests' fake timers can stand in for (node:timers/promises' they cannot). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
