import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateRootKeyRequest, CreateRootKeyResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { checkGrant, validateRootKeyName } from "../../domain/access.js";
import { invalidArgument } from "../../domain/errors.js";
import { rootKeyToProto } from "../mapping/records.js";
import { toDate } from "../mapping/scalars.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { loadKeyspace, requireId, requireMessage } from "../requests.js";
import { issueRootKey } from "./issue-root-key.js";

/** Never grants more than the caller holds; narrowing names keyspaces of the caller's workspace only. */
export const createRootKey =
  (deps: ServiceDeps) =>
  async (request: CreateRootKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateRootKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.rootKey, "root_key");
    validateRootKeyName(input.name);
    input.keyspaceIds.forEach((id, i) => requireId("ks", id, `root_key.keyspace_ids[${i}]`));
    const expiresAt = toDate(input.expiresAt, "root_key.expires_at");
    if (expiresAt && expiresAt.getTime() <= deps.now()) throw invalidArgument("root_key.expires_at", "must be in the future");
    const grant = checkGrant(caller, { permissions: input.permissions, keyspaceIds: input.keyspaceIds });
    for (const id of grant.keyspaceIds) await loadKeyspace(deps.store, caller, id);
    const { rootKey, secret, change } = await issueRootKey(deps, {
      workspaceId: caller.workspaceId,
      name: input.name,
      ...grant,
      createdBy: caller.actor,
      expiresAt,
    });
    return {
      response: { rootKey: rootKeyToProto(rootKey), secret },
      audit: {
        targets: [rootKey.id],
        summary: { name: rootKey.name, permissions: rootKey.permissions, keyspaceIds: rootKey.keyspaceIds },
      },
      changes: [change],
    };
  };
