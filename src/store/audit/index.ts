import type { AuditEventRecord, AuditFilter } from "../../domain/audit.js";
import type { Page } from "../tables/index.js";

export interface AuditLog {
  /** Append-only: there is no way to change or remove an event. */
  appendAuditEvent(event: AuditEventRecord): Promise<void>;
  /** Ordered by id, which is time order. */
  listAuditEvents(filter: AuditFilter, page: Page): Promise<AuditEventRecord[]>;
}
