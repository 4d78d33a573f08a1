import type { DescMessage, DescService, Message, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ManagementPermission } from "../domain/access.js";
import type { JsonObject } from "../domain/key.js";
import type { KeyChangeTarget } from "../store/store.js";

/** What a mutation tells the audit log, beside its response. Never a secret. */
export interface AuditNote {
  /** Ids of the records acted on. */
  targets: string[];
  summary?: JsonObject;
  /** The workspace the event goes to when it is not the caller's: the one the call made. */
  workspaceId?: string;
}

/** What a mutation answers: its response, what the audit log records, and what cached keys and root keys must not outlive. */
export interface Audited<O> {
  response: O;
  audit: AuditNote;
  /** Every change the call made that a cache could hold (publish-changes.ts publishes them). */
  changes?: KeyChangeTarget[];
  /** True when the call changed nothing (every item of a batch failed): like a failed call's, its request_id is given up, not kept. */
  changedNothing?: boolean;
}

/**
 * A mutation that failed after it had changed something a cache could hold: the changes are
 * published all the same, then `failure` is what the caller gets.
 */
export class FailedAfterChanges extends Error {
  constructor(
    readonly failure: unknown,
    readonly changes: KeyChangeTarget[],
  ) {
    super(String(failure));
  }
}

/** Runs the rest of a mutation that already made `changes`: should the rest fail, they are published all the same. */
export async function afterChanges<T>(changes: KeyChangeTarget[], rest: () => Promise<T>): Promise<T> {
  try {
    return await rest();
  } catch (error) {
    throw changes.length > 0 && !(error instanceof FailedAfterChanges) ? new FailedAfterChanges(error, changes) : error;
  }
}

export type Unary<I, O> = (request: I, context: HandlerContext) => O | Promise<O>;

/**
 * What a read of the caller's own root key needs: being a root key, nothing more. It names the
 * read in the audit log when a revoked or expired root key tries it.
 */
export const OWN_ROOT_KEY = "root_key.read_own";

/** How one RPC is guarded, and its handler. */
export type Procedure<I = never, O = unknown> =
  | { kind: "read"; permission: ManagementPermission | typeof OWN_ROOT_KEY; handler: Unary<I, O>; elevated?: Elevation<I> }
  | { kind: "mutation"; permission: ManagementPermission | "admin"; action: string; handler: Unary<I, Audited<O>>; revealed?: Revealed };

/**
 * How the kept answer to a retried request_id gets its secret back from what the store holds now
 * (a recoverable secret): only for a caller holding `permission`, and audited under `action`, as a
 * read of the secret is. `reveal` answers undefined when there is no secret to show.
 */
export interface Revealed {
  permission: ManagementPermission;
  action: string;
  reveal: (response: Message) => Promise<Message | undefined>;
}

/** A read asking for more than the read (a secret): then it needs a second permission too, and is audited under `action`. */
export interface Elevation<I> {
  when: (request: I) => boolean;
  permission: ManagementPermission;
  action: string;
}

/** A read: needs the permission; not audited unless refused, or elevated. */
export const read = <I, O>(permission: ManagementPermission, handler: Unary<I, O>, elevated?: Elevation<I>): Procedure<I, O> => ({
  kind: "read",
  permission,
  handler,
  elevated,
});

/** A read of the calling root key's own record: any root key may make it, with no permission. */
export const ownRootKeyRead = <I, O>(handler: Unary<I, O>): Procedure<I, O> => ({ kind: "read", permission: OWN_ROOT_KEY, handler });

/** A mutation: needs the permission (`admin`: the ADMIN_TOKEN); every attempt is audited under `action`. */
export const mutation = <I, O>(
  permission: ManagementPermission | "admin",
  action: string,
  handler: Unary<I, Audited<O>>,
  revealed?: Revealed,
): Procedure<I, O> => ({ kind: "mutation", permission, action, handler, revealed });

/** A procedure for every method of the service, typed by its request and response. */
export type Procedures<S extends DescService> = {
  [M in keyof S["method"]]: S["method"][M] extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? Procedure<MessageShape<I>, MessageInitShape<O>>
    : never;
};

/** The audit action of a refusal: the mutation it would have been, or the permission a read needs. */
export const actionOf = (procedure: Procedure<never, unknown>) => (procedure.kind === "mutation" ? procedure.action : procedure.permission);
