import type { Filter } from "mongodb";
import type { AuditEventRecord } from "../../domain/audit.js";
import { afterFilter, type MongoTable, type StoredDocument } from "../tables/mongodb.js";
import type { AuditLog } from "./index.js";

export function mongoAuditLog(auditEvents: MongoTable<AuditEventRecord>): AuditLog {
  return {
    async appendAuditEvent(event) {
      await auditEvents.insert(event);
    },

    async listAuditEvents(filter, page) {
      const query: Filter<StoredDocument> = { workspaceId: filter.workspaceId, ...afterFilter(page) };
      if (filter.actor !== undefined) query.actor = filter.actor;
      if (filter.action !== undefined) query.action = filter.action;
      if (filter.targetId !== undefined) query.targetIds = filter.targetId;
      if (filter.from !== undefined || filter.to !== undefined) {
        query.at = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lt: filter.to }) };
      }
      const documents = await auditEvents.collection.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
      return documents.map((document) => auditEvents.fromDocument(document)!);
    },
  };
}
