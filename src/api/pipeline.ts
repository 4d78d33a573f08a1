import type { DescMessage, DescMethod, DescService, Message, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, type ContextValues, createContextKey, createContextValues, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type Caller, type ManagementPermission, permissionDenial } from "../domain/access.js";
import { randomBase58 } from "../domain/base58.js";
import type { JsonObject } from "../domain/key.js";
import type { Logger } from "../observability/log.js";
import type { Metrics } from "../observability/metrics.js";
import { type Credentials, RefusedRootKey } from "../verify/credentials.js";
import type { AuditLog } from "./audit-log.js";
import type { Store } from "../store/store.js";
import { codeName, outcomeOf, toConnectError } from "./errors.js";
import { runOnce } from "./idempotency.js";
import { type RequestValidator, requestIds } from "./request-validation.js";
import { requireReachable } from "./requests.js";

/**
 * The one path every call takes, on every listener: authenticate → authorize → validate →
 * handler → audit → log and metrics → error mapping. The Connect router and the grpc-js adapter
 * both serve the implementations this builds, so whatever is added here holds on every port.
 */

/** The authenticated caller, set before the handler runs. */
export const CALLER = createContextKey<Caller | undefined>(undefined, { description: "calling root key" });
/** The caller's network address, as the listener that took the call saw it. */
export const PEER_ADDRESS = createContextKey("", { description: "peer address" });

export const peerContextValues = (address: string | undefined): ContextValues => createContextValues().set(PEER_ADDRESS, address ?? "");

/** The caller of a procedure that needs a permission. */
export function callerIn(context: HandlerContext): Caller {
  const caller = context.values.get(CALLER);
  if (!caller) throw new Error("no authenticated caller: the procedure was registered without a permission");
  return caller;
}

/** What a mutation tells the audit log, beside its response. Never a secret. */
export interface AuditNote {
  /** Ids of the records acted on. */
  targets: string[];
  summary?: JsonObject;
  /** The workspace the event goes to when it is not the caller's: the one the call made. */
  workspaceId?: string;
}

export interface Audited<O> {
  response: O;
  audit: AuditNote;
  /** True when the call changed nothing (every item of a batch failed): like a failed call's, its request_id is given up, not kept. */
  changedNothing?: boolean;
}

type Unary<I, O> = (request: I, context: HandlerContext) => O | Promise<O>;

/** How one RPC is guarded, and its handler. */
export type Procedure<I = never, O = unknown> =
  | { kind: "read"; permission: ManagementPermission; handler: Unary<I, O>; elevated?: Elevation<I> }
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

/**
 * A context that reads and writes single headers without building Headers objects, as the
 * grpc-js adapter's does: on the verification path those cost more than the verification.
 */
export interface SingleHeaders {
  requestHeaderValue(name: string): string | null;
  setResponseHeaderValue(name: string, value: string): void;
}

type AnyContext = HandlerContext & Partial<SingleHeaders>;

const requestHeader = (context: AnyContext, name: string) =>
  context.requestHeaderValue ? context.requestHeaderValue(name) : context.requestHeader.get(name);

const setResponseHeader = (context: AnyContext, name: string, value: string) =>
  context.setResponseHeaderValue ? context.setResponseHeaderValue(name, value) : context.responseHeader.set(name, value);

export interface PipelineDeps {
  credentials: Pick<Credentials, "rootKey" | "admin">;
  /** Where answers to requests with a request_id are kept for retries. */
  store: Store;
  now: () => number;
  audit: AuditLog;
  validator: RequestValidator;
  metrics: Metrics;
  log: Logger;
  /** One log line per call. */
  accessLog: boolean;
}

/** A user agent is the caller's to choose: only this much of it is kept in each audit event. */
const MAX_AUDITED_USER_AGENT = 256;

/** A caller may name its own request id (to correlate logs); anything else gets one of ours. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const REQUEST_ID_HEADER = "x-request-id";

/** A procedure as logs and metrics name it. */
interface ProcedureName {
  name: string;
  record: (code: string, seconds: number) => void;
}

interface CallRecord {
  procedure: ProcedureName;
  requestId: string;
  started: number;
}

export class Pipeline {
  private readonly instance = randomBase58(8);
  private sequence = 0;

  constructor(private readonly deps: PipelineDeps) {}

  /** An API service: every method guarded by its procedure. */
  api<S extends DescService>(service: S, procedures: Procedures<S>): ServiceImpl<S> {
    const impl: Record<string, unknown> = {};
    for (const method of service.methods) {
      const procedure = (procedures as Record<string, Procedure<never, unknown>>)[method.localName]!;
      impl[method.localName] = this.unary(service, method, (request, context) => this.guard(procedure, method, request as never, context));
    }
    return impl as ServiceImpl<S>;
  }

  /** A service anyone may call (health, reflection): logged, measured and mapped like the rest, with no credentials. */
  open<S extends DescService>(service: S, implementation: ServiceImpl<S>): ServiceImpl<S> {
    const impl: Record<string, unknown> = {};
    for (const method of service.methods) {
      const handler = (implementation as Record<string, (...args: never[]) => unknown>)[method.localName]!.bind(implementation);
      impl[method.localName] =
        method.methodKind === "unary" ? this.unary(service, method, handler as Unary<unknown, unknown>) : this.streaming(service, method, handler);
    }
    return impl as ServiceImpl<S>;
  }

  private procedureName(service: DescService, method: DescMethod): ProcedureName {
    const name = `${service.typeName}/${method.name}`;
    return { name, record: this.deps.metrics.rpcRecorder(name) };
  }

  private unary(service: DescService, method: DescMethod, run: Unary<unknown, unknown>) {
    const procedure = this.procedureName(service, method);
    return (request: unknown, context: HandlerContext) => {
      const call = this.begin(procedure, context);
      let result: unknown;
      try {
        result = run(request, context);
      } catch (error) {
        throw this.failed(call, error);
      }
      if (!(result instanceof Promise)) return this.succeeded(call, result);
      return result.then(
        (response) => this.succeeded(call, response),
        (error: unknown) => {
          throw this.failed(call, error);
        },
      );
    };
  }

  private streaming(service: DescService, method: DescMethod, run: (...args: never[]) => unknown) {
    const procedure = this.procedureName(service, method);
    const pipeline = this;
    return async function* (input: unknown, context: HandlerContext) {
      const call = pipeline.begin(procedure, context);
      try {
        yield* run(input as never, context as never) as AsyncIterable<unknown>;
      } catch (error) {
        throw pipeline.failed(call, error);
      }
      pipeline.succeeded(call, undefined);
    };
  }

  /** Authenticates, then authorizes; calls that need no storage stay synchronous. */
  private guard(procedure: Procedure<never, unknown>, method: DescMethod, request: never, context: HandlerContext) {
    const header = requestHeader(context, "authorization");
    if (procedure.permission === "admin") return this.authorized(procedure, method, request, context, this.deps.credentials.admin(header));
    let caller: Caller | Promise<Caller>;
    try {
      caller = this.deps.credentials.rootKey(header);
    } catch (error) {
      return this.refused(procedure, context, error);
    }
    if (caller instanceof Promise) {
      return caller.then(
        (known) => this.authorized(procedure, method, request, context, known),
        (error: unknown) => this.refused(procedure, context, error),
      );
    }
    return this.authorized(procedure, method, request, context, caller);
  }

  /** An attempt with a revoked or expired root key is recorded in that key's workspace. */
  private refused(procedure: Procedure<never, unknown>, context: HandlerContext, error: unknown): Promise<never> {
    if (!(error instanceof RefusedRootKey)) return Promise.reject(error);
    const caller: Caller = { actor: error.rootKeyId, workspaceId: error.workspaceId, permissions: new Set(), keyspaceIds: undefined };
    return this.audit(context, caller, actionOf(procedure), { targets: [error.rootKeyId] }, error).then(() => Promise.reject(error));
  }

  private authorized(procedure: Procedure<never, unknown>, method: DescMethod, request: never, context: HandlerContext, caller: Caller) {
    context.values.set(CALLER, caller);
    const denied = procedure.permission === "admin" ? undefined : permissionDenial(caller, procedure.permission);
    if (denied) return this.audit(context, caller, actionOf(procedure), { targets: [] }, denied).then(() => Promise.reject(denied));
    if (procedure.kind === "read") {
      const elevated = procedure.elevated?.when(request) ? procedure.elevated : undefined;
      if (elevated) return this.elevatedRead(procedure.handler, elevated, method, request, context, caller);
      this.deps.validator.check(method.input, request);
      return procedure.handler(request, context);
    }
    return (async () => {
      const named = requestIds(method.input, request);
      let targets = named;
      try {
        this.deps.validator.check(method.input, request);
        const { response, audit, replayed } = await runOnce(this.deps.store, this.deps.now, requestScope(caller), method, request as Message, async () =>
          procedure.handler(request, context),
        );
        if (!replayed) {
          await this.audit(context, caller, procedure.action, audit);
          return response;
        }
        if (procedure.permission !== "admin") await requireReachable(this.deps.store, caller, named);
        targets = [...new Set([...named, ...audit.targets])];
        await this.audit(context, caller, procedure.action, { ...audit, targets });
        return procedure.revealed ? this.revealed(procedure.revealed, response as Message, context, caller, targets) : response;
      } catch (error) {
        await this.audit(context, caller, procedure.action, { targets }, error);
        throw error;
      }
    })();
  }

  /** A replayed answer with its secret, for a caller that may read it; the answer as kept (secret withheld) otherwise. */
  private async revealed(revealed: Revealed, response: Message, context: HandlerContext, caller: Caller, targets: string[]): Promise<Message> {
    if (permissionDenial(caller, revealed.permission)) return response;
    const withSecret = await revealed.reveal(response);
    if (!withSecret) return response;
    await this.audit(context, caller, revealed.action, { targets, summary: { replayed: true } });
    return withSecret;
  }

  private async elevatedRead(handler: Unary<never, unknown>, elevated: Elevation<never>, method: DescMethod, request: never, context: HandlerContext, caller: Caller) {
    const note = { targets: requestIds(method.input, request) };
    try {
      const denied = permissionDenial(caller, elevated.permission);
      if (denied) throw denied;
      this.deps.validator.check(method.input, request);
      const response = await handler(request, context);
      await this.audit(context, caller, elevated.action, note);
      return response;
    } catch (error) {
      await this.audit(context, caller, elevated.action, note, error);
      throw error;
    }
  }

  private audit(context: HandlerContext, caller: Caller, action: string, note: AuditNote, error?: unknown) {
    const workspaceId = note.workspaceId ?? caller.workspaceId;
    if (!workspaceId) return Promise.resolve();
    const entry = {
      workspaceId,
      actor: caller.actor,
      action,
      targetIds: note.targets,
      summary: note.summary ?? {},
      peerAddress: context.values.get(PEER_ADDRESS),
      userAgent: (requestHeader(context, "user-agent") ?? "").slice(0, MAX_AUDITED_USER_AGENT),
      outcome: outcomeOf(error),
    };
    return error === undefined ? this.deps.audit.record(entry) : this.deps.audit.recordFailure(entry);
  }

  private begin(procedure: ProcedureName, context: HandlerContext): CallRecord {
    const offered = requestHeader(context, REQUEST_ID_HEADER);
    const requestId = offered && CALLER_REQUEST_ID.test(offered) ? offered : `${this.instance}${(++this.sequence).toString(36)}`;
    setResponseHeader(context, REQUEST_ID_HEADER, requestId);
    return { procedure, requestId, started: performance.now() };
  }

  private succeeded<T>(call: CallRecord, response: T): T {
    this.finish(call, "OK");
    return response;
  }

  private failed(call: CallRecord, error: unknown) {
    const connectError = toConnectError(error, call.requestId);
    if (connectError.code === Code.Internal && connectError !== error) {
      this.deps.log.error("unexpected failure", {
        procedure: call.procedure.name,
        requestId: call.requestId,
        error: String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    this.finish(call, codeName(connectError.code));
    return connectError;
  }

  private finish(call: CallRecord, code: string) {
    const seconds = (performance.now() - call.started) / 1000;
    call.procedure.record(code, seconds);
    if (this.deps.accessLog) {
      this.deps.log.info("rpc", { procedure: call.procedure.name, code, ms: Math.round(seconds * 100_000) / 100, requestId: call.requestId });
    }
  }
}

/** Whose request ids these are: a root key's (within its workspace), or the operator's. */
const requestScope = (caller: Caller) => `${caller.workspaceId || "operator"}:${caller.actor}`;

/** The audit action of a refusal: the mutation it would have been, or the permission a read needs. */
const actionOf = (procedure: Procedure<never, unknown>) => (procedure.kind === "mutation" ? procedure.action : procedure.permission);
