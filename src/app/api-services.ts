import { AnalyticsService } from "../../gen/latchkey/v1/analytics_pb.js";
import { AuditService } from "../../gen/latchkey/v1/audit_pb.js";
import { IdentityService } from "../../gen/latchkey/v1/identity_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { RatelimitService } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { RbacService } from "../../gen/latchkey/v1/rbac_pb.js";
import { RootKeyService } from "../../gen/latchkey/v1/root_key_pb.js";
import { VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";

/**
 * Every latchkey API service, by the name its client goes by in @latchkey/client. The server serves
 * these (each with its handlers from SERVICE_HANDLERS in services.ts, which the compiler holds to
 * the same names), health and reflection announce them, and the client package builds its clients
 * from this table. It imports nothing but generated code, so the client package can carry it.
 */
export const API_SERVICE_TABLE = {
  workspaces: WorkspaceService,
  rootKeys: RootKeyService,
  keyspaces: KeyspaceService,
  keys: KeyService,
  verify: VerifyService,
  identities: IdentityService,
  rbac: RbacService,
  audit: AuditService,
  ratelimits: RatelimitService,
  analytics: AnalyticsService,
} as const;

export type ApiServiceTable = typeof API_SERVICE_TABLE;

export const API_SERVICES = Object.values(API_SERVICE_TABLE);
