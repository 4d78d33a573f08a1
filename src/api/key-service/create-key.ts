import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateKeyRequest, CreateKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { notFound } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { ALL_KEY_ATTRIBUTES, newKeyRecord, validateKeyAttributes, validateKeyPrefix } from "../../domain/key.js";
import { issueSecret } from "../../domain/secret.js";
import { keyAttributesFromProto, keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { afterChanges, type Audited } from "../../pipeline/procedures.js";
import { linkIdentity, registerPermissions, requireIdentityLink, requireRoles } from "../references.js";
import { loadKeyspace, requireId, requireMessage } from "../requests.js";
import { checkRecoverable, sealIfRecoverable } from "./recoverable.js";
import { keyChanged } from "../../verify/change-feed.js";
import type { KeyChangeTarget } from "../../store/store.js";

export const createKey =
  (deps: ServiceDeps) =>
  async (request: CreateKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const { store, now, random } = deps;
    const input = requireMessage(request.key, "key");
    const keyspaceId = requireId("ks", input.keyspaceId, "key.keyspace_id");
    if (input.prefix) validateKeyPrefix("key.prefix", input.prefix);
    const at = now();
    const attributes = validateKeyAttributes(keyAttributesFromProto(input), { now: at, changed: ALL_KEY_ATTRIBUTES });
    const workspaceId = caller.workspaceId;
    const keyspace = await loadKeyspace(store, caller, keyspaceId);
    checkRecoverable(deps.vault, keyspace);
    await requireRoles(store, workspaceId, attributes.roles, "key.roles");
    requireIdentityLink(caller, attributes.externalId, request.createIdentity);
    await registerPermissions(store, workspaceId, attributes.permissions, at, random);
    const identityId = await linkIdentity(deps, caller, attributes.externalId, request.createIdentity, at);
    const changes: KeyChangeTarget[] = identityId ? [{ workspaceId, externalId: attributes.externalId }] : [];
    return afterChanges(changes, async () => {
      const prefix = input.prefix || keyspace.defaultPrefix;
      const issued = issueSecret(prefix, request.byteLength || keyspace.defaultByteLength, keyspace.startLength, random);
      const key = newKeyRecord(
        attributes,
        {
          id: newId("key", at, random),
          workspaceId,
          keyspaceId,
          hash: issued.digest,
          prefix,
          start: issued.start,
          createdBy: input.createdBy,
        },
        at,
      );
      key.sealedSecret = sealIfRecoverable(deps.vault, keyspace, key.id, issued.secret);
      await store.insertKey(key);
      changes.push(keyChanged(key));
      if (!(await store.keyspaces.find({ id: keyspaceId }))) {
        await store.deleteKey(key.id);
        throw notFound("keyspace", keyspaceId);
      }
      return {
        response: { key: keyToProto(key, at), secret: issued.secret },
        audit: {
          targets: [key.id, keyspaceId, ...(identityId ? [identityId] : [])],
          summary: { name: key.name, prefix, start: key.start, externalId: key.externalId, identityCreated: identityId !== undefined },
        },
        changes,
      };
    });
  };
