import type { AuditEventRecord } from "../../domain/audit.js";
import { paginate } from "../tables/memory.js";
import type { AuditLog } from "./index.js";

export function memoryAuditLog(): AuditLog {
  const events: AuditEventRecord[] = [];
  return {
    async appendAuditEvent(event) {
      events.push(structuredClone(event));
    },

    async listAuditEvents(filter, page) {
      const matches = events.filter(
        (event) =>
          event.workspaceId === filter.workspaceId &&
          (filter.actor === undefined || event.actor === filter.actor) &&
          (filter.action === undefined || event.action === filter.action) &&
          (filter.targetId === undefined || event.targetIds.includes(filter.targetId)) &&
          (filter.from === undefined || event.at >= filter.from) &&
          (filter.to === undefined || event.at < filter.to),
      );
      return paginate(matches, page);
    },
  };
}
