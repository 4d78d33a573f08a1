import { create, type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log.js";
import { encodingOf } from "./encoding.js";
import { peerContextValues, type SingleHeaderReader } from "./guard.js";
import { logCall, toConnectError } from "./interceptors.js";

/**
 * Serves a Connect service implementation through @grpc/grpc-js, so one implementation runs on
 * either server library. grpc-js carries native gRPC with far less overhead per call than
 * connect-node does, which matters for verification.
 */
export interface GrpcJsPolicy {
  log: Logger;
  logEachCall: boolean;
  shutdownSignal: AbortSignal;
}

type AnyImpl = Record<string, (...args: never[]) => unknown>;
/** What the adapter uses of any grpc-js call. */
type Call = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getPeer"> & { once(event: "cancelled", listener: () => void): unknown };
type Message = Parameters<typeof toBinary>[1];

export function addToGrpcJsServer(server: grpc.Server, service: DescService, impl: object, policy: GrpcJsPolicy) {
  const definition: Record<string, grpc.MethodDefinition<Message, Message>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (message: Message) => asBuffer(toBinary(method.input, message)),
      requestDeserialize: (bytes: Buffer) => fromBinary(method.input, bytes),
      responseSerialize: (message: Message) => asBuffer(encodingOf(message) ?? toBinary(method.output, create(method.output, message))),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
    const implementation = (impl as AnyImpl)[method.localName]!.bind(impl) as (input: unknown, context: HandlerContext) => unknown;
    handlers[method.localName] = handlerFor(service, method, implementation, policy);
  }
  server.addService(definition, handlers);
}

/** The same bytes seen as a Buffer, without copying them. */
const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function handlerFor(
  service: DescService,
  method: DescMethod,
  implementation: (input: unknown, context: HandlerContext) => unknown,
  policy: GrpcJsPolicy,
): grpc.UntypedHandleCall {
  const procedure = `${service.typeName}/${method.name}`;
  const url = `/${procedure}`;
  const context = (call: Call) => new LazyHandlerContext(service, method, url, call, policy.shutdownSignal);
  const fail = (started: number, error: unknown): grpc.ServiceError => {
    const connectError = toConnectError(error, procedure, policy.log);
    if (policy.logEachCall) logCall(policy.log, procedure, started, connectError);
    return Object.assign(new Error(connectError.rawMessage), {
      code: connectError.code as number as grpc.status,
      details: connectError.rawMessage,
      metadata: new grpc.Metadata(),
    });
  };
  const succeed = (started: number) => {
    if (policy.logEachCall) logCall(policy.log, procedure, started);
  };

  if (method.methodKind === "unary") {
    return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = policy.logEachCall ? performance.now() : 0;
      const respond = (response: unknown) => {
        succeed(started);
        callback(null, response);
      };
      let result: unknown;
      try {
        result = implementation(call.request, context(call));
      } catch (error) {
        callback(fail(started, error));
        return;
      }
      if (result instanceof Promise) result.then(respond, (error: unknown) => callback(fail(started, error)));
      else respond(result);
    };
  }
  if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
    return async (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
      const started = performance.now();
      // A plain for-await over the call would destroy it once the client half-closes, cutting off our responses.
      const input =
        method.methodKind === "bidi_streaming"
          ? (call as grpc.ServerDuplexStream<unknown, unknown>).iterator({ destroyOnReturn: false })
          : (call as grpc.ServerWritableStream<unknown, unknown>).request;
      try {
        for await (const response of implementation(input, context(call)) as AsyncIterable<unknown>) {
          if (!call.write(response)) await new Promise((resolve) => call.once("drain", resolve));
        }
        succeed(started);
        call.end();
      } catch (error) {
        call.emit("error", fail(started, error));
      }
    };
  }
  throw new Error(`${procedure}: client-streaming methods are not served over grpc-js`);
}

/**
 * A handler context whose parts are made only when a handler asks for them: most calls never
 * look at their headers or signal, and building them on every call costs more than the call.
 */
class LazyHandlerContext implements HandlerContext, SingleHeaderReader {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  private header: Headers | undefined;
  private outHeader: Headers | undefined;
  private outTrailer: Headers | undefined;
  private abortSignal: AbortSignal | undefined;
  private contextValues: ContextValues | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly url: string,
    private readonly call: Call,
    private readonly shutdownSignal: AbortSignal,
  ) {}

  timeoutMs() {
    return undefined;
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

  get responseTrailer() {
    return (this.outTrailer ??= new Headers());
  }

  get values() {
    return (this.contextValues ??= peerContextValues(peerAddress(this.call.getPeer())));
  }

  get signal() {
    if (!this.abortSignal) {
      const cancelled = new AbortController();
      this.call.once("cancelled", () => cancelled.abort());
      this.abortSignal = AbortSignal.any([cancelled.signal, this.shutdownSignal]);
    }
    return this.abortSignal;
  }
}

/** grpc-js names peers `127.0.0.1:5000` or `[::1]:5000`; the audit log wants the address alone, as the other listeners give it. */
function peerAddress(peer: string): string {
  const match = /^(?:ipv[46]:)?\[?(.*?)\]?:\d+$/.exec(peer);
  return match ? match[1]! : peer;
}
