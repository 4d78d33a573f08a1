import type http from "node:http";
import http2 from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ContextValues, createConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { createAsyncIterable, encodeEnvelope, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamFromJson,
  endStreamToJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { Logger } from "../observability/log.js";
import type { CallContext } from "../pipeline/context.js";
import { isDecodeFailure, malformedRequestError } from "./malformed-bodies.js";

export type NodeHandler = (request: http.IncomingMessage | http2.Http2ServerRequest, response: http.ServerResponse | http2.Http2ServerResponse) => void;

/**
 * The Node request handler for the Connect router (PORT and HTTP1_PORT): connect-node's own
 * adapter, with two corrections a public service needs.
 *
 * - connect-es answers a binary body it cannot decode with INTERNAL, and a unary call without
 *   exactly one message with UNIMPLEMENTED; the fault is the caller's, so these answer
 *   INVALID_ARGUMENT with reason MALFORMED_REQUEST, in each protocol's own form.
 * - A response sent before the request body was read (a body over the size limit, say) leaves an
 *   HTTP/2 client waiting to send the rest; the stream is reset once the answer is out.
 */
export function connectHandler(options: {
  routes: (router: ConnectRouter) => void;
  readMaxBytes: number;
  contextValues: (request: http.IncomingMessage | http2.Http2ServerRequest) => ContextValues;
  log: Logger;
}): NodeHandler {
  const router = createConnectRouter({ readMaxBytes: options.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  options.routes(router);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const handler = handlers.get(request.url?.split("?", 1)[0] ?? "");
    if (!handler) {
      response.writeHead(404);
      response.end();
      return;
    }
    resetUnreadRequestWhenAnswered(request);
    const protocol = protocolOf(request.headers["content-type"]);
    handler(universalRequestFromNodeRequest(request, response, undefined, options.contextValues(request)))
      .then((answer) => decodeFailuresAsInvalidArgument(answer, protocol, handler.method))
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((error: unknown) => {
        // A client that went away before its answer is no news; anything else is worth a line.
        if (ConnectError.from(error).code !== Code.Aborted) options.log.warn("response not delivered", { procedure: request.url, error: String(error) });
      });
  };
}

/**
 * A service implementation built by the pipeline, as connect-es's router calls it: each call's
 * context gets the pipeline's header access over the Fetch API's Headers it has.
 */
export function withFetchHeaderAccess(service: DescService, implementation: object): ServiceImpl<DescService> {
  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    const run = (implementation as Record<string, (input: unknown, context: CallContext) => unknown>)[method.localName]!;
    impl[method.localName] = (input: unknown, context: HandlerContext) => run(input, fetchHeaderAccess(context));
  }
  return impl as ServiceImpl<DescService>;
}

function fetchHeaderAccess(context: HandlerContext): CallContext {
  const call = Object.create(context) as CallContext;
  call.requestHeaderValue = (name) => context.requestHeader.get(name);
  call.setResponseHeaderValue = (name, value) => context.responseHeader.set(name, value);
  return call;
}

type Protocol = "connect" | "grpc" | "grpc-web";
const protocolOf = (contentType: string | undefined): Protocol =>
  contentType?.startsWith("application/grpc-web") ? "grpc-web" : contentType?.startsWith("application/grpc") ? "grpc" : "connect";

function decodeFailuresAsInvalidArgument(
  answer: UniversalServerResponse,
  protocol: Protocol,
  method: DescMethod,
): Promise<UniversalServerResponse> | UniversalServerResponse {
  const { body, trailer } = answer;
  if (!body) return answer;
  const replacement = () => malformedRequestError(method);
  if (protocol === "grpc") {
    if (!trailer) return answer;
    const fixTrailer = () => {
      if (isDecodeFailure(findTrailerError(trailer))) setTrailerStatus(trailer, replacement());
    };
    return { ...answer, body: mapChunks(body, (chunk) => chunk, fixTrailer) };
  }
  if (protocol === "grpc-web") {
    return {
      ...answer,
      body: mapChunks(body, (chunk) => {
        if (!isFrame(chunk, trailerFlag)) return chunk;
        const parsed = trailerParse(chunk.subarray(5));
        if (!isDecodeFailure(findTrailerError(parsed))) return chunk;
        return encodeEnvelope(trailerFlag, trailerSerialize(setTrailerStatus(parsed, replacement())));
      }),
    };
  }
  if (method.methodKind !== "unary") {
    return {
      ...answer,
      body: mapChunks(body, (chunk) => {
        if (!isFrame(chunk, endStreamFlag)) return chunk;
        const end = endStreamFromJson(chunk.subarray(5));
        if (!isDecodeFailure(end.error)) return chunk;
        return encodeEnvelope(endStreamFlag, new TextEncoder().encode(JSON.stringify(endStreamToJson(end.metadata, replacement(), undefined))));
      }),
    };
  }
  if (answer.status === 200 || answer.header?.has("content-encoding")) return answer;
  return connectUnaryError(answer, body, replacement);
}

/** A Connect unary error is one JSON body whose HTTP status goes out first, so the body (small, in memory) is read before answering. */
async function connectUnaryError(
  answer: UniversalServerResponse,
  body: AsyncIterable<Uint8Array>,
  replacement: () => ConnectError,
): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (!isDecodeFailure(errorFromJsonBytes(bytes, undefined, replacement()))) return { ...answer, body: createAsyncIterable([bytes]) };
  const error = replacement();
  const replaced = errorToJsonBytes(error, undefined);
  answer.header?.set("content-length", String(replaced.byteLength));
  return { ...answer, status: codeToHttpStatus(error.code), body: createAsyncIterable([replaced]) };
}

/** Whether a chunk is one whole, uncompressed envelope with this flag. connect-es writes its closing frames so. */
const isFrame = (chunk: Uint8Array, flag: number) => chunk.byteLength >= 5 && (chunk[0]! & flag) === flag && (chunk[0]! & COMPRESSED_FLAG) === 0;
const COMPRESSED_FLAG = 0b01;

async function* mapChunks(body: AsyncIterable<Uint8Array>, map: (chunk: Uint8Array) => Uint8Array, atEnd?: () => void) {
  for await (const chunk of body) yield map(chunk);
  atEnd?.();
}

/**
 * A response sent before the request body was read (a body over the size limit) leaves the rest
 * unread, and the stream open while the client waits on flow control to send it: one of the
 * connection's few concurrent streams held, and a client that never finishes. HTTP/2 lets the
 * server then reset the stream with NO_ERROR (RFC 9113, section 8.1); that waits a moment so
 * clients that stop at the answer, as connect's do, read it first.
 */
function resetUnreadRequestWhenAnswered(request: http.IncomingMessage | http2.Http2ServerRequest) {
  if (!("stream" in request)) return;
  // The response's own "finish" waits for the whole stream to close; the stream's writable side finishes when the answer is out.
  request.stream.once("finish", () => {
    if (request.complete) return;
    const timer = setTimeout(() => request.stream.close(http2.constants.NGHTTP2_NO_ERROR), UNREAD_BODY_GRACE_MS);
    request.stream.once("close", () => clearTimeout(timer));
  });
}
const UNREAD_BODY_GRACE_MS = 1000;
