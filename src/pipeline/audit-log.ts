import { newId } from "../domain/ids.js";
import type { AuditEventRecord } from "../domain/audit.js";
import type { Logger } from "../observability/log.js";
import type { Store } from "../store/store.js";

/** An event as its call describes it; the log gives it an id and a time. */
export type AuditEntry = Omit<AuditEventRecord, "id" | "at">;

/** Failed attempts are counted per actor, action and outcome over windows this long. */
const FAILURE_WINDOW_MS = 60_000;
/** Windows remembered at once; beyond this the least recently opened is forgotten. */
const MAX_FAILURE_WINDOWS = 10_000;

/**
 * Appends audit events. A mutation that happened is not undone when its event cannot be written:
 * the failure is logged as an error for the operator, and the caller gets the mutation's result.
 *
 * Failed attempts (a revoked root key, a missing permission, a refused change) are coalesced, so
 * a client repeating one cannot turn each try into a storage write: within a minute, the 1st,
 * 10th, 100th… attempt of one actor at one action with one outcome is written, its summary
 * carrying `attempts`, the count so far.
 */
export class AuditLog {
  private readonly failures = new Map<string, { openedAt: number; attempts: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  recordFailure(entry: AuditEntry): Promise<void> {
    const key = [entry.workspaceId, entry.actor, entry.action, entry.outcome].join("\u0000");
    const now = this.now();
    let window = this.failures.get(key);
    if (!window || now - window.openedAt >= FAILURE_WINDOW_MS) {
      window = { openedAt: now, attempts: 0 };
      this.failures.delete(key);
      this.failures.set(key, window);
      if (this.failures.size > MAX_FAILURE_WINDOWS) this.failures.delete(this.failures.keys().next().value!);
    }
    window.attempts++;
    if (!isPowerOfTen(window.attempts)) return Promise.resolve();
    return this.record({ ...entry, summary: { ...entry.summary, attempts: window.attempts } });
  }

  async record(entry: AuditEntry) {
    const at = this.now();
    try {
      await this.store.appendAuditEvent({ ...entry, id: newId("evt", at), at: new Date(at) });
    } catch (error) {
      this.log.error("writing an audit event failed", { action: entry.action, workspaceId: entry.workspaceId, error: String(error) });
    }
  }
}

function isPowerOfTen(count: number) {
  let rest = count;
  while (rest % 10 === 0) rest /= 10;
  return rest === 1;
}
