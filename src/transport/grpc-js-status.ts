import { ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { grpcStatusDetails } from "../pipeline/map-errors.js";
import { asBuffer } from "./encoding.js";

/** A failure as grpc-js sends it: code, message, and the google.rpc.Status details in the trailers. */
export function toServiceError(error: unknown): grpc.ServiceError {
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
