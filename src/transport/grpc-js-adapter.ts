import { create, type DescMethod, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { type Call, LazyHandlerContext } from "./grpc-js-context.js";
import { asBuffer, encodingOf } from "./encoding.js";
import { toServiceError } from "./grpc-js-status.js";
import { type MalformedRequest, requestDeserializer } from "./grpc-js-well-formed.js";

/**
 * Serves a Connect service implementation through @grpc/grpc-js, so one implementation (built by
 * the call pipeline) runs on either server library. grpc-js carries native gRPC with far less
 * overhead per call than connect-node does, which matters for verification. This file only
 * translates: contexts in (grpc-js-context.ts), responses, headers and errors (grpc-js-status.ts)
 * out. Bodies that are not well-formed are refused before this, by grpc-js-well-formed.ts.
 */
export interface GrpcJsOptions {
  shutdownSignal: AbortSignal;
}

type AnyImpl = Record<string, (...args: never[]) => unknown>;
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
      requestDeserialize: requestDeserializer(method),
      responseSerialize: (message: Message) => asBuffer(encodingOf(message) ?? toBinary(method.output, create(method.output, message))),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
    const implementation = (impl as AnyImpl)[method.localName]!.bind(impl) as (input: unknown, context: HandlerContext) => unknown;
    handlers[method.localName] = handlerFor(service, method, implementation, options);
  }
  server.addService(definition, handlers);
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
    // No function is made per call on the synchronous path (a cached verification's): only an answer that waits gets closures.
    return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const handlerContext = context(call);
      let result: unknown;
      try {
        result = implementation(call.request, handlerContext);
      } catch (error) {
        failUnary(handlerContext, callback, error);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (response) => respondUnary(handlerContext, callback, response),
          (error: unknown) => failUnary(handlerContext, callback, error),
        );
      } else respondUnary(handlerContext, callback, result);
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

function respondUnary(context: LazyHandlerContext, callback: grpc.sendUnaryData<unknown>, response: unknown) {
  context.sendHeader();
  callback(null, response);
}

function failUnary(context: LazyHandlerContext, callback: grpc.sendUnaryData<unknown>, error: unknown) {
  context.sendHeader();
  callback(toServiceError(error));
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
