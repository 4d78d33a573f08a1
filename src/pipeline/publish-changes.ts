import type { KeyChangeFeed } from "../verify/change-feed.js";
import type { KeyChangeTarget } from "../store/store.js";
import { FailedAfterChanges } from "./procedures.js";

export type ChangePublisher = Pick<KeyChangeFeed, "publish">;

/**
 * Publishes the changes a mutation made, in the order it made them, before its answer goes out:
 * by the time a caller hears of a change, this instance's caches dropped what it made stale and
 * the other instances can read it from the store's change log. A handler lists its changes (as it
 * lists its audit targets) instead of publishing them itself, so no handler can forget one.
 */
export async function publishChanges(publisher: ChangePublisher, changes: readonly KeyChangeTarget[] | undefined): Promise<void> {
  if (!changes) return;
  for (const change of changes) await publisher.publish(change);
}

/** A handler's failure after it changed something: the changes are published, and the failure it carries is what is thrown on. */
export async function publishChangesOfFailure(publisher: ChangePublisher, error: unknown): Promise<unknown> {
  if (!(error instanceof FailedAfterChanges)) return error;
  await publishChanges(publisher, error.changes);
  return error.failure;
}
