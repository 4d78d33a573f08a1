import type { AuditService } from "../../../gen/latchkey/v1/audit_pb.js";
import type { ServiceDeps } from "../deps.js";
import { type Procedures, read } from "../../pipeline/procedures.js";
import { listAuditEvents } from "./list-audit-events.js";

export const auditService = (deps: ServiceDeps): Procedures<typeof AuditService> => ({
  listAuditEvents: read("audit.read", listAuditEvents(deps)),
});
