import { createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { type Caller, type ManagementPermission, PermissionDenied } from "../domain/access.js";
import type { JsonObject } from "../domain/key.js";
import { outcomeOf } from "./audit-log.js";
import { RefusedRootKey } from "./authentication.js";
import type { ServiceDeps } from "./deps.js";

/** The caller's network address, as the listener that took the call saw it. */
export const PEER_ADDRESS = createContextKey("", { description: "peer address" });

export const peerContextValues = (address: string | undefined) => createContextValues().set(PEER_ADDRESS, address ?? "");

/** What a handler knows of the call beyond its request, and what it tells the audit log. */
export interface Call {
  caller: Caller;
  /** The workspace the audit event goes to: the caller's, unless the call made a new one. */
  workspaceId: string;
  /** Ids of the records acted on. */
  targets: string[];
  /** What changed; never a secret. */
  summary: JsonObject;
}

export interface Rule {
  /** What the caller must hold; `admin` means the deployment's ADMIN_TOKEN instead of a root key. */
  permission: ManagementPermission | "admin";
  /** Set for mutations: the audit event's action. */
  action?: string;
}

/** A context that can read one request header without building them all, as the grpc-js adapter's does. */
export interface SingleHeaderReader {
  requestHeaderValue(name: string): string | null;
}

const requestHeader = (context: HandlerContext & Partial<SingleHeaderReader>, name: string) =>
  context.requestHeaderValue ? context.requestHeaderValue(name) : context.requestHeader.get(name);

type Handler<I, O> = (request: I, call: Call) => O | Promise<O>;

/**
 * Authenticates and authorizes a call before its handler runs, and writes the audit event of a
 * mutation after, whatever its outcome. A refused permission is recorded too, under the action the
 * call would have been (or the permission, for reads). Calls that need no storage stay synchronous.
 */
export function guarded<I, O>(deps: ServiceDeps, rule: Rule, handler: Handler<I, O>) {
  return (request: I, context: HandlerContext): O | Promise<O> => {
    const header = requestHeader(context, "authorization");
    if (rule.permission === "admin") return run(deps.access.admin(header));
    let caller: Caller | Promise<Caller>;
    try {
      caller = deps.access.rootKey(header);
    } catch (error) {
      return refused(error);
    }
    return caller instanceof Promise ? caller.then(run, refused) : run(caller);

    /** An attempt with a revoked or expired root key is recorded in that key's workspace. */
    function refused(error: unknown): Promise<never> {
      if (!(error instanceof RefusedRootKey)) return Promise.reject(error);
      const caller: Caller = { actor: error.rootKeyId, workspaceId: error.workspaceId, permissions: new Set(), keyspaceIds: undefined };
      const call: Call = { caller, workspaceId: error.workspaceId, targets: [error.rootKeyId], summary: {} };
      return audit(call, rule.action ?? rule.permission, error).then(() => Promise.reject(error));
    }

    function run(caller: Caller): O | Promise<O> {
      const call: Call = { caller, workspaceId: caller.workspaceId, targets: [], summary: {} };
      const permission = rule.permission;
      if (permission !== "admin" && !caller.permissions.has(permission)) {
        const denied = new PermissionDenied(permission);
        return audit(call, rule.action ?? permission, denied).then(() => Promise.reject(denied));
      }
      if (!rule.action) return handler(request, call);
      const action = rule.action;
      return (async () => {
        try {
          const response = await handler(request, call);
          await audit(call, action);
          return response;
        } catch (error) {
          await audit(call, action, error);
          throw error;
        }
      })();
    }

    function audit(call: Call, action: string, error?: unknown) {
      if (!call.workspaceId) return Promise.resolve();
      return deps.audit.record({
        workspaceId: call.workspaceId,
        actor: call.caller.actor,
        action,
        targetIds: call.targets,
        summary: call.summary,
        peerAddress: context.values.get(PEER_ADDRESS),
        userAgent: requestHeader(context, "user-agent") ?? "",
        outcome: outcomeOf(error),
      });
    }
  };
}
