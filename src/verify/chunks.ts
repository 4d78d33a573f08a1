/**
 * Runs `each` over consecutive slices of at most `size` items, one after another: how background
 * writes stay short, so that none comes near the store timeout and the calls that callers wait for
 * go between them.
 */
export async function forEachChunk<T>(items: readonly T[], size: number, each: (chunk: T[]) => Promise<void>) {
  for (let from = 0; from < items.length; from += size) await each(items.slice(from, from + size));
}
