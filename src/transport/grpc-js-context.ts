import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { ContextKey, ContextValues, HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { type HeaderAccess, PEER_ADDRESS } from "../pipeline/context.js";

/** What the adapter uses of any grpc-js call. */
export type Call = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer" | "getDeadline" | "sendMetadata"> & {
  once(event: "cancelled", listener: () => void): unknown;
};

/**
 * A handler context whose parts are made only when a handler asks for them: most calls never
 * look at their headers or signal, and building them on every call costs more than the call.
 */
export class LazyHandlerContext implements HandlerContext, HeaderAccess {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  private header: Headers | undefined;
  private outHeader: Headers | undefined;
  private outMetadata: grpc.Metadata | undefined;
  private outTrailer: Headers | undefined;
  private headerSent = false;
  private abortSignal: AbortSignal | undefined;
  private contextValues: ContextValues | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly url: string,
    private readonly call: Call,
    private readonly shutdownSignal: AbortSignal,
  ) {}

  /** What is left of the client's deadline, as connect-node reports it on the other listeners. */
  timeoutMs() {
    const deadline = this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
  }

  get requestHeader() {
    return (this.header ??= new Headers(Object.entries(this.call.metadata.getMap()).map(([name, value]): [string, string] => [name, String(value)])));
  }

  requestHeaderValue(name: string) {
    const value = this.call.metadata.get(name)[0];
    return value === undefined ? null : String(value);
  }

  get responseHeader() {
    return (this.outHeader ??= new Headers());
  }

  setResponseHeaderValue(name: string, value: string) {
    (this.outMetadata ??= new grpc.Metadata()).set(name, value);
  }

  get responseTrailer() {
    return (this.outTrailer ??= new Headers());
  }

  /** Sends the response headers a handler set, once, before the first message or the status. */
  sendHeader() {
    if (this.headerSent || (!this.outHeader && !this.outMetadata)) return;
    this.headerSent = true;
    const metadata = (this.outMetadata ??= new grpc.Metadata());
    this.outHeader?.forEach((value, name) => metadata.set(name, value));
    this.call.sendMetadata(metadata);
  }

  get values() {
    return (this.contextValues ??= new CallValues(this.call));
  }

  /** Aborts when the client cancels, its deadline passes, or the server shuts down. */
  get signal() {
    if (!this.abortSignal) {
      const cancelled = new AbortController();
      this.call.once("cancelled", () => cancelled.abort());
      const timeout = this.timeoutMs();
      const signals = [cancelled.signal, this.shutdownSignal];
      if (timeout !== undefined) signals.push(AbortSignal.timeout(timeout));
      this.abortSignal = AbortSignal.any(signals);
    }
    return this.abortSignal;
  }
}

/** Context values whose peer address is worked out only if something reads it: most calls never do. */
class CallValues implements ContextValues {
  private readonly values = new Map<symbol, unknown>();

  constructor(private readonly call: Call) {}

  get<T>(key: ContextKey<T>): T {
    if (key.id === PEER_ADDRESS.id && !this.values.has(key.id)) this.values.set(key.id, peerAddress(this.call.getPeer()));
    return (this.values.has(key.id) ? this.values.get(key.id) : key.defaultValue) as T;
  }

  set<T>(key: ContextKey<T>, value: T) {
    this.values.set(key.id, value);
    return this;
  }

  delete(key: ContextKey<unknown>) {
    this.values.delete(key.id);
    return this;
  }
}

/** grpc-js names peers `127.0.0.1:5000` or `[::1]:5000`; the audit log wants the address alone, as the other listeners give it. */
function peerAddress(peer: string): string {
  const match = /^(?:ipv[46]:)?\[?(.*?)\]?:\d+$/.exec(peer);
  return match ? match[1]! : peer;
}
