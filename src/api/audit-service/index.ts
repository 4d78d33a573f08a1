import type { ServiceImpl } from "@connectrpc/connect";
import type { AuditService } from "../../../gen/latchkey/v1/audit_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { listAuditEvents } from "./list-audit-events.js";

export const auditService = (deps: ServiceDeps): ServiceImpl<typeof AuditService> => ({
  listAuditEvents: guarded(deps, { permission: "audit.read" }, listAuditEvents(deps)),
});
