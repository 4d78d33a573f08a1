import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { testApi } from "../support/api.js";

const { transport } = testApi();

async function ask<R>(service: typeof v1.ServerReflection | typeof v1alpha.ServerReflection, requests: object[]): Promise<R[]> {
  const client = createClient(service as typeof v1.ServerReflection, transport);
  async function* stream() {
    for (const request of requests) yield request;
  }
  const answers: R[] = [];
  for await (const answer of client.serverReflectionInfo(stream())) answers.push(answer as R);
  return answers;
}

describe.each([
  ["v1", v1.ServerReflection],
  ["v1alpha", v1alpha.ServerReflection],
])("server reflection %s", (_, service) => {
  it("lists services and serves descriptors complete enough to rebuild every type", async () => {
    const [list, symbol, method, file] = await ask<v1.ServerReflectionResponse>(service, [
      { host: "h", messageRequest: { case: "listServices", value: "" } },
      { messageRequest: { case: "fileContainingSymbol", value: "latchkey.v1.KeyService" } },
      { messageRequest: { case: "fileContainingSymbol", value: "latchkey.v1.KeyService.CreateKey" } },
      { messageRequest: { case: "fileByFilename", value: "latchkey/v1/keyspace.proto" } },
    ]);
    expect(list!.validHost).toBe("h");
    expect(list!.messageResponse.case).toBe("listServicesResponse");
    const names = (list!.messageResponse.value as v1.ListServiceResponse).service.map((s) => s.name);
    expect(names).toContain("latchkey.v1.KeyService");

    for (const answer of [symbol!, method!, file!]) {
      expect(answer.messageResponse.case).toBe("fileDescriptorResponse");
      const protos = (answer.messageResponse.value as v1.FileDescriptorResponse).fileDescriptorProto.map((bytes) =>
        fromBinary(FileDescriptorProtoSchema, bytes),
      );
      // The requested file comes first, then everything it imports, imports before importers.
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...protos.slice(1), protos[0]!] }));
      expect(registry.getFile(protos[0]!.name)).toBeDefined();
    }
    const keyFile = (symbol!.messageResponse.value as v1.FileDescriptorResponse).fileDescriptorProto.map(
      (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
    );
    expect(keyFile[0]).toBe("latchkey/v1/key.proto");
    // With the comments, which protoc-gen-es leaves out of its descriptors: grpcurl describe shows them.
    const served = fromBinary(FileDescriptorProtoSchema, (symbol!.messageResponse.value as v1.FileDescriptorResponse).fileDescriptorProto[0]!);
    const comments = served.sourceCodeInfo!.location.map((location) => location.leadingComments);
    expect(comments).toContainEqual(expect.stringContaining("Issues and manages keys. Only a SHA-256 digest of a secret is ever stored."));
    expect(comments).toContainEqual(expect.stringContaining("Gives the key a new secret and keeps everything else"));
    expect(keyFile).toContain("google/protobuf/timestamp.proto");
  });

  it("answers NOT_FOUND for what it does not know", async () => {
    const answers = await ask<v1.ServerReflectionResponse>(service, [
      { messageRequest: { case: "fileContainingSymbol", value: "nope.Nothing" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "latchkey.v1.Key", extensionNumber: 99 } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "latchkey.v1.Key" } },
    ]);
    for (const answer of answers.slice(0, 3)) {
      expect(answer.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
    }
    expect(answers[3]!.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "latchkey.v1.Key", extensionNumber: [] },
    });
  });
});
