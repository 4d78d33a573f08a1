import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type AuditEvent, AuditEventSchema } from "../../../gen/latchkey/v1/audit_pb.js";
import { type Identity, IdentitySchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { type Keyspace, KeyspaceSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { type Permission, PermissionSchema, type Role, RoleSchema } from "../../../gen/latchkey/v1/rbac_pb.js";
import { type RootKey, RootKeySchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { type Workspace, WorkspaceSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import type { RootKeyRecord } from "../../domain/access.js";
import type { AuditEventRecord } from "../../domain/audit.js";
import type { IdentityRecord, IdentitySettings } from "../../domain/identity.js";
import type { KeyspaceRecord, KeyspaceSettings } from "../../domain/keyspace.js";
import type { PermissionRecord, RoleRecord } from "../../domain/rbac.js";
import type { WorkspaceRecord } from "../../domain/workspace.js";
import { rateLimitsFromProto, rateLimitsToProto } from "./keys.js";
import { toTimestamp } from "./scalars.js";

/** Translations between the API's other resources (keyspaces, workspaces, root keys, identities, roles, permissions, audit events) and the domain's records. */

export function keyspaceToProto(keyspace: KeyspaceRecord): Keyspace {
  return create(KeyspaceSchema, {
    id: keyspace.id,
    name: keyspace.name,
    defaultPrefix: keyspace.defaultPrefix,
    defaultByteLength: keyspace.defaultByteLength,
    startLength: keyspace.startLength,
    recoverable: keyspace.recoverable ?? false,
    createdAt: timestampFromDate(keyspace.createdAt),
    updatedAt: timestampFromDate(keyspace.updatedAt),
  });
}

export function keyspaceSettingsFromProto(keyspace: Keyspace): Partial<KeyspaceSettings> {
  return {
    name: keyspace.name,
    defaultPrefix: keyspace.defaultPrefix,
    defaultByteLength: keyspace.defaultByteLength,
    startLength: keyspace.startLength,
    recoverable: keyspace.recoverable,
  };
}

export const workspaceToProto = (workspace: WorkspaceRecord): Workspace =>
  create(WorkspaceSchema, { id: workspace.id, name: workspace.name, createdAt: toTimestamp(workspace.createdAt), updatedAt: toTimestamp(workspace.updatedAt) });

export const rootKeyToProto = (rootKey: RootKeyRecord): RootKey =>
  create(RootKeySchema, {
    id: rootKey.id,
    name: rootKey.name,
    start: rootKey.start,
    permissions: rootKey.permissions,
    keyspaceIds: rootKey.keyspaceIds,
    createdBy: rootKey.createdBy,
    replacedBy: rootKey.replacedBy,
    expiresAt: toTimestamp(rootKey.expiresAt),
    revokedAt: toTimestamp(rootKey.revokedAt),
    createdAt: toTimestamp(rootKey.createdAt),
  });

export const identityToProto = (identity: IdentityRecord): Identity =>
  create(IdentitySchema, {
    id: identity.id,
    externalId: identity.externalId,
    meta: identity.meta ?? undefined,
    rateLimits: rateLimitsToProto(identity.rateLimits),
    createdAt: toTimestamp(identity.createdAt),
    updatedAt: toTimestamp(identity.updatedAt),
  });

export const identitySettingsFromProto = (identity: Identity, path = "identity"): IdentitySettings => ({
  meta: identity.meta ?? null,
  rateLimits: rateLimitsFromProto(identity.rateLimits, path),
});

export const permissionToProto = (permission: PermissionRecord): Permission =>
  create(PermissionSchema, { id: permission.id, name: permission.name, description: permission.description, createdAt: toTimestamp(permission.createdAt) });

export const roleToProto = (role: RoleRecord): Role =>
  create(RoleSchema, {
    id: role.id,
    name: role.name,
    description: role.description,
    permissions: role.permissions,
    createdAt: toTimestamp(role.createdAt),
    updatedAt: toTimestamp(role.updatedAt),
  });

export const auditEventToProto = (event: AuditEventRecord): AuditEvent =>
  create(AuditEventSchema, {
    id: event.id,
    time: toTimestamp(event.at),
    actor: event.actor,
    action: event.action,
    targetIds: event.targetIds,
    summary: event.summary,
    peerAddress: event.peerAddress,
    userAgent: event.userAgent,
    outcome: event.outcome,
  });
