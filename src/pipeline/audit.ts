import type { DescMessage, Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Caller } from "../domain/access.js";
import { ID_KINDS, isId } from "../domain/ids.js";
import type { AuditLog } from "./audit-log.js";
import { type CallContext, PEER_ADDRESS } from "./context.js";
import { outcomeOf } from "./map-errors.js";
import type { AuditNote } from "./procedures.js";

/** A user agent is the caller's to choose: only this much of it is kept in each audit event. */
const MAX_AUDITED_USER_AGENT = 256;

/**
 * Records one attempt in the audit log: a success as it happened, a failure (`error`) coalesced
 * with its repeats. An attempt no workspace can be named for (the operator's) is not recorded.
 */
export function auditCall(log: AuditLog, context: CallContext, caller: Caller, action: string, note: AuditNote, error?: unknown): Promise<void> {
  const workspaceId = note.workspaceId ?? caller.workspaceId;
  if (!workspaceId) return Promise.resolve();
  const entry = {
    workspaceId,
    actor: caller.actor,
    action,
    targetIds: note.targets,
    summary: note.summary ?? {},
    peerAddress: context.values.get(PEER_ADDRESS),
    userAgent: (context.requestHeaderValue("user-agent") ?? "").slice(0, MAX_AUDITED_USER_AGENT),
    outcome: outcomeOf(error),
  };
  return error === undefined ? log.record(entry) : log.recordFailure(entry);
}

/** Every id a request names, in its fields or one message down: what a failed mutation's audit event targets. */
export function requestIds(schema: DescMessage, request: Message, depth = 1): string[] {
  const message = reflect(schema, request);
  return schema.fields.flatMap((field) => {
    if (!message.isSet(field)) return [];
    if (field.fieldKind === "scalar" && typeof message.get(field) === "string") return idsOf([message.get(field) as string]);
    if (field.fieldKind === "list" && field.listKind === "scalar") return idsOf([...(message.get(field) as Iterable<unknown>)]);
    if (field.fieldKind === "message" && depth > 0) {
      const inner = message.get(field) as ReflectMessage;
      return requestIds(inner.desc, inner.message, depth - 1);
    }
    return [];
  });
}

const idsOf = (values: unknown[]) => values.filter((value): value is string => typeof value === "string" && ID_KINDS.some((kind) => isId(kind, value)));
