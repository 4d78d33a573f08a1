import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { violationsToProto } from "@bufbuild/protovalidate";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { file_buf_validate_validate } from "../../gen/buf/validate/validate_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ErrorReason } from "../../gen/latchkey/v1/errors_pb.js";
import { type DomainError, FAILURE_REASONS } from "../../src/domain/errors.js";
import { newId } from "../../src/domain/ids.js";
import { RequestValidator } from "../../src/pipeline/validate.js";
import { UpdateKeyRequestSchema } from "../../gen/latchkey/v1/key_pb.js";
import { createKeyspace, expectCode, testApi } from "../support/api.js";

/** A file's descriptor as bytes, without the `syntax` that protoc-gen-es leaves out for proto2. */
const descriptorBytes = (proto: typeof file_buf_validate_validate.proto) =>
  toBinary(FileDescriptorProtoSchema, create(FileDescriptorProtoSchema, { ...proto, syntax: "" }));

describe("validation from the protos", () => {
  it("the vendored validate.proto is the one @bufbuild/protovalidate was built from", () => {
    const [, violationsSchema] = violationsToProto([]);
    expect(descriptorBytes(file_buf_validate_validate.proto)).toEqual(descriptorBytes(violationsSchema.file.proto));
  });

  it("every reason the domain reports is in the proto's catalogue", () => {
    for (const reason of FAILURE_REASONS) expect(ErrorReason[reason], reason).toBeDefined();
  });

  it("INVALID_ARGUMENT names every field at fault, and nothing is written", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const error = await expectCode(
      api.keys.createKey({ key: { keyspaceId: keyspace.id, name: "n".repeat(257), description: "d".repeat(1025) }, byteLength: 8 }),
      Code.InvalidArgument,
      "key.name must be at most 256 characters",
    );
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((violation) => violation.field)).toEqual(["key.name", "key.description", "byte_length"]);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_FIELD");
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
    const { events } = await api.audit.listAuditEvents({ action: "key.create" });
    expect(events.map((event) => event.outcome)).toEqual(["invalid_argument"]);
  });

  it("an update is held to the rules of the fields its mask names, not of the others", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, name: "before" } });
    const tooLong = "n".repeat(257);
    const updated = await api.keys.updateKey({ key: { id: key!.id, name: tooLong, description: "after" }, updateMask: { paths: ["description"] } });
    expect(updated.key).toMatchObject({ name: "before", description: "after" });
    await expectCode(
      api.keys.updateKey({ key: { id: key!.id, name: tooLong }, updateMask: { paths: ["name"] } }),
      Code.InvalidArgument,
      "key.name must be at most 256 characters",
    );
  });

  it("INVALID_ARGUMENT, never INTERNAL, for a Timestamp outside its range or with nanos outside 0 to 999999999", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const message = "must be a time from year 1 to year 9999 with nanos from 0 to 999999999";
    for (const expiresAt of [
      { seconds: 999_999_999_999_999n },
      { seconds: -62_135_596_801n },
      { seconds: 2_000_000_000n, nanos: -1 },
      { seconds: 2_000_000_000n, nanos: 1_000_000_000 },
    ]) {
      await expectCode(api.keys.createKey({ key: { keyspaceId: keyspace.id, expiresAt } }), Code.InvalidArgument, `key.expires_at ${message}`);
      await expectCode(
        api.rootKeys.createRootKey({ rootKey: { name: "r", permissions: ["key.read"], expiresAt } }),
        Code.InvalidArgument,
        `root_key.expires_at ${message}`,
      );
      await expectCode(api.audit.listAuditEvents({ startTime: expiresAt }), Code.InvalidArgument, `start_time ${message}`);
    }
  });

  it("list requests refuse a negative page size", async () => {
    const api = testApi();
    await expectCode(api.keyspaces.listKeyspaces({ pageSize: -1 }), Code.InvalidArgument, "page_size must be greater than or equal to 0");
  });
});

describe("the validate stage", () => {
  it("reports a rule broken by a field the update mask names, and ignores one the mask leaves out", () => {
    const validator = new RequestValidator();
    const keyId = newId("key", Date.UTC(2026, 0, 1));
    const fieldsAtFault = (paths: string[]) => {
      const request = create(UpdateKeyRequestSchema, { key: { id: keyId, name: "n".repeat(300), externalId: "e".repeat(300) }, updateMask: { paths } });
      try {
        validator.check(UpdateKeyRequestSchema, request);
        return [];
      } catch (thrown) {
        return (thrown as DomainError).violations.map((violation) => violation.field);
      }
    };
    expect(fieldsAtFault(["name"])).toEqual(["key.name"]);
    expect(fieldsAtFault(["external_id"])).toEqual(["key.external_id"]);
    expect(fieldsAtFault(["expires_at"])).toEqual([]);
  });

  it("reads the mask as the handler does: a path names a whole field, and one naming no field is refused", () => {
    const validator = new RequestValidator();
    const keyId = newId("key", Date.UTC(2026, 0, 1));
    const refusal = (paths: string[]) => {
      const request = create(UpdateKeyRequestSchema, { key: { id: keyId, credits: { remaining: -1n } }, updateMask: { paths } });
      try {
        validator.check(UpdateKeyRequestSchema, request);
        return "";
      } catch (thrown) {
        return (thrown as DomainError).message;
      }
    };
    expect(refusal(["credits"])).toContain("key.credits.remaining must be greater than or equal to 0");
    expect(refusal(["name", "credits.remaining"])).toBe("update_mask.paths[1] is not an updatable field");
    expect(refusal([])).toBe("update_mask must name at least one field");
  });
});
