import type { DescMethod } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { toServiceError } from "./grpc-js-status.js";
import { endsInsideFrame, malformedRequestError } from "./malformed-bodies.js";
import { requestDecoder } from "./request-decoder.js";

/** What a body that does not decode becomes: grpc-js answers INTERNAL when decoding throws, so the refusal is left to `wellFormedRequestsOnly`. */
export class MalformedRequest {
  constructor(readonly method: DescMethod) {}
}

/** Decodes the method's requests: each a message, or a MalformedRequest when its bytes do not decode. */
export function requestDeserializer(method: DescMethod) {
  const decode = requestDecoder(method.input);
  return (bytes: Buffer) => {
    try {
      return decode(bytes);
    } catch {
      return new MalformedRequest(method);
    }
  };
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
    const error = toServiceError(malformedRequestError(method));
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
