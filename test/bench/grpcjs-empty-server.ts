import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../../gen/health/v1/health_pb.js";

/**
 * The ecosystem's reference point: a plain @grpc/grpc-js server answering grpc.health.v1.Health/Check
 * and nothing else. Prints "PORT <n>" once listening; stops when stdin closes.
 */
const serving: HealthCheckResponse = { $typeName: "grpc.health.v1.HealthCheckResponse", status: HealthCheckResponse_ServingStatus.SERVING };
const server = new grpc.Server();
server.addService(
  {
    check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: (message: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, message)),
      requestDeserialize: (bytes: Buffer) => fromBinary(HealthCheckRequestSchema, bytes),
      responseSerialize: (message: HealthCheckResponse) => Buffer.from(toBinary(HealthCheckResponseSchema, message)),
      responseDeserialize: (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
    },
  },
  { check: (_call: unknown, callback: grpc.sendUnaryData<HealthCheckResponse>) => callback(null, serving) },
);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  console.log(`PORT ${port}`);
});
process.stdin.on("end", () => server.forceShutdown());
process.stdin.resume();
