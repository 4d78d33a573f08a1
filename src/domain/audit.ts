import type { JsonObject } from "./key.js";

/** One mutation or refused attempt. Append-only: nothing updates or removes an event. */
export interface AuditEventRecord {
  id: string;
  workspaceId: string;
  at: Date;
  actor: string;
  action: string;
  targetIds: string[];
  /** What changed, never a secret. */
  summary: JsonObject;
  peerAddress: string;
  userAgent: string;
  /** `ok` or the failure's gRPC code in snake case. */
  outcome: string;
}

export interface AuditFilter {
  workspaceId: string;
  actor?: string;
  action?: string;
  targetId?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}
