import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { type Caller, permissionDenial } from "../domain/access.js";
import type { Logger } from "../observability/log.js";
import type { Store } from "../store/store.js";
import { requireReachable } from "../api/requests.js";
import { auditCall, requestIds } from "./audit.js";
import type { AuditLog } from "./audit-log.js";
import { authenticate, type Authenticator, refusedCaller } from "./authenticate.js";
import { authorize, elevationOf } from "./authorize.js";
import { CALLER, type CallContext } from "./context.js";
import { requestScope, runOnce } from "./idempotency.js";
import { codeName, mapError } from "./map-errors.js";
import { type CallEnd, type CallObserver, RequestIds } from "./observe.js";
import { actionOf, type AuditNote, type Elevation, type Procedure, type Procedures, type Revealed, type Unary } from "./procedures.js";
import { type ChangePublisher, publishChanges, publishChangesOfFailure } from "./publish-changes.js";
import type { RequestValidator } from "./validate.js";

export interface PipelineDeps {
  credentials: Authenticator;
  /** Where answers to requests with a request_id are kept for retries. */
  store: Store;
  now: () => number;
  audit: AuditLog;
  validator: RequestValidator;
  /** Told of every change a mutation made that cached keys and root keys must not outlive. */
  changes: ChangePublisher;
  /** Told of every call's start and end (observe.ts). */
  observers: readonly CallObserver[];
  log: Logger;
}

/**
 * The one path every call takes, on every listener, composed here and nowhere else:
 * observe (request id, metrics, access log) → authenticate → authorize → validate → idempotency →
 * handler → publish changes → audit → map errors. Each stage is a file of this folder. Transports
 * serve the implementations this builds, handing each call a CallContext (context.ts): its header
 * access is theirs to supply, so nothing here depends on which transport carried a call.
 *
 * A stage that only watches calls (tracing, say) takes one new file implementing CallObserver,
 * listed in `observers` where the application is assembled; nothing here changes.
 */
export class Pipeline {
  private readonly requestIds = new RequestIds();

  constructor(private readonly deps: PipelineDeps) {}

  /** An API service: every method guarded by its procedure. */
  api<S extends DescService>(service: S, procedures: Procedures<S>): ServiceImpl<S> {
    const impl: Record<string, unknown> = {};
    for (const method of service.methods) {
      const procedure = (procedures as Record<string, Procedure<never, unknown>>)[method.localName]!;
      impl[method.localName] = this.unary(service, method, (request, context) => this.guard(procedure, method, request as never, context as CallContext));
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

  private observing(service: DescService, method: DescMethod) {
    const procedure = `${service.typeName}/${method.name}`;
    const starts = this.deps.observers.map((observer) => observer.observe(procedure));
    const { log } = this.deps;
    return {
      begin: (context: CallContext) => {
        const requestId = this.requestIds.assign(context);
        return { requestId, ends: starts.map((start) => start(requestId, context)) };
      },
      succeeded<T>(call: { ends: CallEnd[] }, response: T): T {
        for (const end of call.ends) end("OK");
        return response;
      },
      failed(call: { requestId: string; ends: CallEnd[] }, error: unknown) {
        const connectError = mapError(error, call.requestId, procedure, log);
        const code = codeName(connectError.code);
        for (const end of call.ends) end(code);
        return connectError;
      },
    };
  }

  private unary(service: DescService, method: DescMethod, run: Unary<unknown, unknown>) {
    const observed = this.observing(service, method);
    return (request: unknown, context: CallContext) => {
      const call = observed.begin(context);
      let result: unknown;
      try {
        result = run(request, context);
      } catch (error) {
        throw observed.failed(call, error);
      }
      if (!(result instanceof Promise)) return observed.succeeded(call, result);
      return result.then(
        (response) => observed.succeeded(call, response),
        (error: unknown) => {
          throw observed.failed(call, error);
        },
      );
    };
  }

  private streaming(service: DescService, method: DescMethod, run: (...args: never[]) => unknown) {
    const observed = this.observing(service, method);
    return async function* (input: unknown, context: CallContext) {
      const call = observed.begin(context);
      try {
        yield* run(input as never, context as never) as AsyncIterable<unknown>;
      } catch (error) {
        throw observed.failed(call, error);
      }
      observed.succeeded(call, undefined);
    };
  }

  /** Authenticates, then authorizes; calls that need no storage stay synchronous. */
  private guard(procedure: Procedure<never, unknown>, method: DescMethod, request: never, context: CallContext) {
    let caller: Caller | Promise<Caller>;
    try {
      caller = authenticate(this.deps.credentials, procedure.permission === "admin", context);
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
  private refused(procedure: Procedure<never, unknown>, context: CallContext, error: unknown): Promise<never> {
    const caller = refusedCaller(error);
    if (!caller) return Promise.reject(error);
    return this.audit(context, caller, actionOf(procedure), { targets: [caller.actor] }, error).then(() => Promise.reject(error));
  }

  private authorized(procedure: Procedure<never, unknown>, method: DescMethod, request: never, context: CallContext, caller: Caller) {
    context.values.set(CALLER, caller);
    const denied = authorize(caller, procedure.permission);
    if (denied) return this.audit(context, caller, actionOf(procedure), { targets: [] }, denied).then(() => Promise.reject(denied));
    if (procedure.kind === "mutation") return this.mutate(procedure, method, request, context, caller);
    const elevated = elevationOf(procedure, request);
    if (elevated) return this.elevatedRead(procedure.handler, elevated, method, request, context, caller);
    this.deps.validator.check(method.input, request);
    return procedure.handler(request, context);
  }

  private async mutate(procedure: Procedure<never, unknown> & { kind: "mutation" }, method: DescMethod, request: never, context: CallContext, caller: Caller) {
    const named = requestIds(method.input, request);
    let targets = named;
    try {
      this.deps.validator.check(method.input, request);
      const { response, audit, replayed } = await runOnce(this.deps.store, this.deps.now, requestScope(caller), method, request as Message, () =>
        this.handle(procedure, request, context),
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
  }

  /** Runs a mutation's handler and publishes the changes it made, whether it then succeeded or not. */
  private async handle(procedure: Procedure<never, unknown> & { kind: "mutation" }, request: never, context: CallContext) {
    try {
      const done = await procedure.handler(request, context);
      await publishChanges(this.deps.changes, done.changes);
      return done;
    } catch (error) {
      throw await publishChangesOfFailure(this.deps.changes, error);
    }
  }

  /** A replayed answer with its secret, for a caller that may read it; the answer as kept (secret withheld) otherwise. */
  private async revealed(revealed: Revealed, response: Message, context: CallContext, caller: Caller, targets: string[]): Promise<Message> {
    if (permissionDenial(caller, revealed.permission)) return response;
    const withSecret = await revealed.reveal(response);
    if (!withSecret) return response;
    await this.audit(context, caller, revealed.action, { targets, summary: { replayed: true } });
    return withSecret;
  }

  private async elevatedRead(
    handler: Unary<never, unknown>,
    elevated: Elevation<never>,
    method: DescMethod,
    request: never,
    context: CallContext,
    caller: Caller,
  ) {
    const note = { targets: requestIds(method.input, request) };
    try {
      const denied = authorize(caller, elevated.permission);
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

  private audit(context: CallContext, caller: Caller, action: string, note: AuditNote, error?: unknown) {
    return auditCall(this.deps.audit, context, caller, action, note, error);
  }
}
