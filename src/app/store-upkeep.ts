import { REQUEST_RETENTION_MS } from "../domain/idempotency.js";
import type { Logger } from "../observability/log.js";
import type { Store } from "../store/store.js";
import type { HealthState } from "../transport/health.js";

/** How often answers kept for request_id retries are pruned once past their retention. */
const REQUEST_PRUNE_MS = 3600_000;

/**
 * The store's upkeep while the server runs: its health checked every `checkEveryMs` (see
 * watchStore), and answers kept for request_id retries pruned once past their retention.
 * Returns what stops both.
 */
export function keepStore(store: Store, health: HealthState, log: Logger, now: () => number, checkEveryMs: number): () => void {
  const checks = watchStore(store, health, log, checkEveryMs);
  const pruning = setInterval(
    () =>
      void store
        .pruneRequests(now() - REQUEST_RETENTION_MS)
        .catch((error: unknown) => log.warn("pruning kept request answers failed", { error: String(error) })),
    REQUEST_PRUNE_MS,
  );
  pruning.unref();
  return () => {
    clearInterval(checks);
    clearInterval(pruning);
  };
}

/**
 * Checks the store every `everyMs`: health answers NOT_SERVING while it fails, and the check
 * recreates indexes a database that came back empty has lost. Logged when the state changes.
 */
function watchStore(store: Store, health: HealthState, log: Logger, everyMs: number): NodeJS.Timeout {
  let answering = true;
  let checking = false;
  const check = () => {
    if (checking) return;
    checking = true;
    void store
      .checkHealth()
      .finally(() => (checking = false))
      .then(
        () => {
          if (!answering) log.info("the store answers again");
          answering = true;
          health.storeAnswered(true);
        },
        (error: unknown) => {
          if (answering) log.error("the store failed its health check: health answers NOT_SERVING", { error: String(error) });
          answering = false;
          health.storeAnswered(false);
        },
      );
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  return timer;
}
