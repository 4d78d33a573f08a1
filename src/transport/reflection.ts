import { createRegistry, fromBinary, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema, SourceCodeInfoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { SOURCE_INFO } from "../../gen/source_info.js";

/**
 * gRPC server reflection (v1 and the older v1alpha, which tools still ask for), answered from the
 * descriptors embedded in the generated code, so `buf curl` and grpcurl need no proto files.
 */
type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/**
 * Besides the services' files, `alsoDescribed` are files no service imports that clients still need
 * to decode answers: the error detail types carried in status details, and the catalogue of reasons.
 */
export function reflectionServices(
  served: readonly DescService[],
  alsoDescribed: readonly DescFile[] = [],
): {
  v1: ServiceImpl<typeof v1.ServerReflection>;
  v1alpha: ServiceImpl<typeof v1alpha.ServerReflection>;
} {
  const files = withDependencies([...served.map((service) => service.file), ...alsoDescribed]);
  const registry = createRegistry(...files);
  const encoded = new Map(files.map((file) => [file, toBinary(FileDescriptorProtoSchema, withComments(file))]));
  const byName = new Map(files.map((file) => [file.proto.name, file]));

  const describe = (file: DescFile | undefined, what: string): Answer =>
    file
      ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: requestedFirst(file).map((f) => encoded.get(f)!) } }
      : { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };

  /** A symbol is a type or service, or a method or field inside one. */
  const fileOfSymbol = (symbol: string) => (registry.get(symbol) ?? registry.get(symbol.slice(0, Math.max(0, symbol.lastIndexOf(".")))))?.file;

  function answer(request: Request): Answer {
    const message = request.messageRequest;
    switch (message.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: served.map((service) => ({ name: service.typeName })) } };
      case "fileByFilename":
        return describe(byName.get(message.value), `file ${message.value}`);
      case "fileContainingSymbol":
        return describe(fileOfSymbol(message.value), `symbol ${message.value}`);
      case "fileContainingExtension": {
        const extendee = registry.getMessage(message.value.containingType);
        const extension = extendee && registry.getExtensionFor(extendee, message.value.extensionNumber);
        return describe(extension?.file, `extension ${message.value.extensionNumber} of ${message.value.containingType}`);
      }
      case "allExtensionNumbersOfType": {
        const extendee = registry.getMessage(message.value);
        if (!extendee) return describe(undefined, `type ${message.value}`);
        const numbers = files.flatMap((file) => file.extensions.filter((e) => e.extendee.typeName === extendee.typeName).map((e) => e.number));
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: extendee.typeName, extensionNumber: numbers } };
      }
      default:
        return { case: "errorResponse", value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
    }
  }

  async function* respond<R extends Request>(requests: AsyncIterable<R>) {
    for await (const request of requests) {
      yield { validHost: request.host, originalRequest: request, messageResponse: answer(request) };
    }
  }

  return { v1: { serverReflectionInfo: respond }, v1alpha: { serverReflectionInfo: respond } };
}

/** The file's descriptor with its comments (gen/source_info.ts), so tools such as grpcurl show the API's documentation. */
function withComments(file: DescFile): FileDescriptorProto {
  const sourceInfo = SOURCE_INFO[file.proto.name];
  if (!sourceInfo) return file.proto;
  return { ...file.proto, sourceCodeInfo: fromBinary(SourceCodeInfoSchema, Buffer.from(sourceInfo, "base64")) };
}

/** The files and everything they import, each once, imports first. */
function withDependencies(roots: readonly DescFile[]): DescFile[] {
  const seen = new Set<DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file)) return;
    file.dependencies.forEach(visit);
    seen.add(file);
  };
  roots.forEach(visit);
  return [...seen];
}

const requestedFirst = (file: DescFile) => [file, ...withDependencies([file]).filter((dependency) => dependency !== file)];
