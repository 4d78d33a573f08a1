import { create, type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextKey, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { encodingOf } from "./encoding.js";
import { malformedRequest } from "../domain/errors.js";
import { grpcStatusDetails, toConnectError } from "./errors.js";
import { PEER_ADDRESS, type SingleHeaders } from "./pipeline.js";

/**
 * Serves a Connect service implementation through @grpc/grpc-js, so one implementation (built by
 * the call pipeline) runs on either server library. grpc-js carries native gRPC with far less
 * overhead per call than connect-node does, which matters for verification. This file only
 * translates: contexts in, responses, headers and errors (with their details) out.
 */
export interface GrpcJsOptions {
  shutdownSignal: AbortSignal;
}

type AnyImpl = Record<string, (...args: never[]) => unknown>;
/** What the adapter uses of any grpc-js call. */
type Call = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer" | "getDeadline" | "sendMetadata"> & {
  once(event: "cancelled", listener: () => void): unknown;
};
type Message = Parameters<typeof toBinary>[1];

export function addToGrpcJsServer(server: grpc.Server, service: DescService, impl: object, options: GrpcJsOptions) {
  const definition: Record<string, grpc.MethodDefinition<Message | MalformedRequest, Message>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (message: Message | MalformedRequest) => asBuffer(toBinary(method.input, message as Message)),
      requestDeserialize: (bytes: Buffer) => decodeRequest(method, bytes),
      responseSerialize: (message: Message) => asBuffer(encodingOf(message) ?? toBinary(method.output, create(method.output, message))),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
    const implementation = (impl as AnyImpl)[method.localName]!.bind(impl) as (input: unknown, context: HandlerContext) => unknown;
    handlers[method.localName] = handlerFor(service, method, implementation, options);
  }
  server.addService(definition, handlers);
}

/** What a body that does not decode becomes: grpc-js answers INTERNAL when decoding throws, so the refusal is left to `wellFormedRequestsOnly`. */
class MalformedRequest {
  constructor(readonly method: DescMethod) {}
}

function decodeRequest(method: DescMethod, bytes: Buffer) {
  try {
    return fromBinary(method.input, bytes);
  } catch {
    return new MalformedRequest(method);
  }
}

/**
 * Refuses, before any handler runs, a request that is not well-formed: a message that does not
 * decode, a body that ends inside a frame (a length prefix longer or shorter than what follows),
 * or, for a method that takes one request, other than exactly one message. grpc-js would answer
 * these INTERNAL or UNIMPLEMENTED, or run the handler on the frames it could read.
 */
export const wellFormedRequestsOnly: grpc.ServerInterceptor = (definition, call) =>
  new WellFormedCall(call, !definition.requestStream) as unknown as grpc.ServerInterceptingCall;

type IncomingEvents = Parameters<grpc.ServerInterceptingCallInterface["start"]>[0];

/**
 * The call as grpc-js's handlers see it, looking at each incoming event before passing it on.
 * A plain delegating class, monomorphic and without closures: grpc-js's own ServerInterceptingCall,
 * or a listener wrapped in closures, cost a share of a cached verification worth saving (docs/benchmarks.md).
 */
class WellFormedCall implements grpc.ServerInterceptingCallInterface, IncomingEvents {
  private listener: IncomingEvents | undefined;
  private received = 0;
  private refused = false;

  constructor(
    private readonly call: grpc.ServerInterceptingCallInterface,
    private readonly single: boolean,
  ) {}

  start(listener: IncomingEvents) {
    this.listener = listener;
    this.call.start(this);
  }

  onReceiveMetadata(metadata: grpc.Metadata) {
    this.listener!.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown) {
    if (this.refused) return;
    this.received++;
    if (message instanceof MalformedRequest) this.refuse(message.method);
    else if (this.single && this.received > 1) this.refuse();
    else this.listener!.onReceiveMessage(message);
  }

  onReceiveHalfClose() {
    if (this.refused) return;
    if (endsInsideFrame(this.call) || (this.single && this.received !== 1)) this.refuse();
    else this.listener!.onReceiveHalfClose();
  }

  onCancel() {
    this.listener!.onCancel();
  }

  private refuse(method?: DescMethod) {
    this.refused = true;
    const error = toServiceError(toConnectError(malformedRequest(method?.input.typeName), ""));
    this.call.sendStatus({ code: error.code, details: error.details, metadata: error.metadata });
  }

  sendMetadata(metadata: grpc.Metadata) {
    this.call.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void) {
    this.call.sendMessage(message, callback);
  }

  sendStatus(status: Parameters<grpc.ServerInterceptingCallInterface["sendStatus"]>[0]) {
    this.call.sendStatus(status);
  }

  startRead() {
    this.call.startRead();
  }

  getPeer() {
    return this.call.getPeer();
  }

  getDeadline() {
    return this.call.getDeadline();
  }

  getHost() {
    return this.call.getHost();
  }

  getAuthContext() {
    return this.call.getAuthContext();
  }

  getConnectionInfo() {
    return this.call.getConnectionInfo();
  }

  getMetricsRecorder() {
    return this.call.getMetricsRecorder();
  }
}

/**
 * Whether the body ended with part of a frame unread. grpc-js keeps this in its stream decoder
 * and says nothing; the wire tests fail if a grpc-js upgrade moves it.
 */
function endsInsideFrame(call: grpc.ServerInterceptingCallInterface): boolean {
  const decoder = (call as unknown as { decoder?: { readState?: unknown } }).decoder;
  return decoder?.readState !== FRAME_BOUNDARY;
}
/** grpc-js's StreamDecoder state between frames. */
const FRAME_BOUNDARY = 0;

/** The same bytes seen as a Buffer, without copying them. */
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** A failure as grpc-js sends it: code, message, and the google.rpc.Status details in the trailers. */
function toServiceError(error: unknown): grpc.ServiceError {
  const connectError = ConnectError.from(error);
  const metadata = new grpc.Metadata();
  const details = grpcStatusDetails(connectError);
  if (details) metadata.set("grpc-status-details-bin", asBuffer(details));
  return Object.assign(new Error(connectError.rawMessage), {
    code: connectError.code as number as grpc.status,
    details: connectError.rawMessage,
    metadata,
  });
}

function handlerFor(
  service: DescService,
  method: DescMethod,
  implementation: (input: unknown, context: HandlerContext) => unknown,
  options: GrpcJsOptions,
): grpc.UntypedHandleCall {
  const url = `/${service.typeName}/${method.name}`;
  const context = (call: Call) => new LazyHandlerContext(service, method, url, call, options.shutdownSignal);

  if (method.methodKind === "unary") {
    return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const handlerContext = context(call);
      const respond = (response: unknown) => {
        handlerContext.sendHeader();
        callback(null, response);
      };
      const fail = (error: unknown) => {
        handlerContext.sendHeader();
        callback(toServiceError(error));
      };
      let result: unknown;
      try {
        result = implementation(call.request, handlerContext);
      } catch (error) {
        fail(error);
        return;
      }
      if (result instanceof Promise) result.then(respond, fail);
      else respond(result);
    };
  }
  if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
    return async (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
      const handlerContext = context(call);
      // A plain for-await over the call would destroy it once the client half-closes, cutting off our responses.
      const input =
        method.methodKind === "bidi_streaming"
          ? requestsUntilClosed((call as grpc.ServerDuplexStream<unknown, unknown>).iterator({ destroyOnReturn: false }))
          : (call as grpc.ServerWritableStream<unknown, unknown>).request;
      try {
        for await (const response of implementation(input, handlerContext) as AsyncIterable<unknown>) {
          handlerContext.sendHeader();
          if (!call.write(response)) await new Promise((resolve) => call.once("drain", resolve));
        }
        handlerContext.sendHeader();
        call.end();
      } catch (error) {
        handlerContext.sendHeader();
        call.emit("error", toServiceError(error));
      }
    };
  }
  throw new Error(`${url}: client-streaming methods are not served over grpc-js`);
}

/** A client stream's messages; its end without a half-close (a cancel, a refused frame) is a cancellation, not a server failure. */
async function* requestsUntilClosed(messages: AsyncIterator<unknown>) {
  try {
    for (let next = await messages.next(); !next.done; next = await messages.next()) yield next.value;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_STREAM_PREMATURE_CLOSE") throw new ConnectError("the client closed the stream", Code.Canceled);
    throw error;
  }
}

/**
 * A handler context whose parts are made only when a handler asks for them: most calls never
 * look at their headers or signal, and building them on every call costs more than the call.
 */
class LazyHandlerContext implements HandlerContext, SingleHeaders {
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
    return (this.header ??= new Headers(
      Object.entries(this.call.metadata.getMap()).map(([name, value]): [string, string] => [name, String(value)]),
    ));
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
