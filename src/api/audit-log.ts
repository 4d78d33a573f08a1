import { newId } from "../domain/ids.js";
import type { AuditEventRecord } from "../domain/audit.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/store.js";

/** An event as its call describes it; the log gives it an id and a time. */
export type AuditEntry = Omit<AuditEventRecord, "id" | "at">;

/**
 * Appends audit events. A mutation that happened is not undone when its event cannot be written:
 * the failure is logged as an error for the operator, and the caller gets the mutation's result.
 */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  async record(entry: AuditEntry) {
    const at = this.now();
    try {
      await this.store.appendAuditEvent({ ...entry, id: newId("evt", at), at: new Date(at) });
    } catch (error) {
      this.log.error("writing an audit event failed", { action: entry.action, workspaceId: entry.workspaceId, error: String(error) });
    }
  }
}
