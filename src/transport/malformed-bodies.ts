import type { DescMethod } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { toConnectError } from "../pipeline/map-errors.js";
import { malformedRequest } from "../domain/errors.js";

/**
 * How a request body that is not well-formed is recognised, on either server library. Neither says
 * so through its API, so this is the one module that relies on their internals: connect-es's
 * wording of its decode failures, and grpc-js's stream decoder state. Both libraries are pinned to
 * exact versions in package.json, and test/transport/malformed-bodies.test.ts fails against a
 * version that words or keeps these differently.
 */

/** What a body that is not well-formed answers, on every listener: INVALID_ARGUMENT with reason MALFORMED_REQUEST. */
export const malformedRequestError = (method?: DescMethod): ConnectError => toConnectError(malformedRequest(method?.input.typeName), "");

/**
 * Whether connect-es failed a call for its body: a binary body it cannot decode (it answers
 * INTERNAL) or a unary call with no message or more than one (it answers UNIMPLEMENTED).
 */
export const isDecodeFailure = (error: ConnectError | undefined) =>
  (error?.code === Code.Internal && error.rawMessage.startsWith("parse binary")) ||
  (error?.code === Code.Unimplemented && /^protocol error: (missing input|received extra input) message/.test(error.rawMessage));

/**
 * Whether a grpc-js call's body ended with part of a frame unread (a length prefix longer than
 * what follows). grpc-js keeps this in its stream decoder and says nothing.
 */
export function endsInsideFrame(call: grpc.ServerInterceptingCallInterface): boolean {
  const decoder = (call as unknown as { decoder?: { readState?: unknown } }).decoder;
  return decoder?.readState !== FRAME_BOUNDARY;
}
/** grpc-js's StreamDecoder state between frames. */
const FRAME_BOUNDARY = 0;
