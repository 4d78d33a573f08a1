import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { invalidArgument } from "../../src/domain/errors.js";
import type { Logger } from "../../src/observability/log.js";
import { mapError, outcomeOf } from "../../src/pipeline/map-errors.js";

function recordingLog() {
  const errors: unknown[] = [];
  const log: Logger = { info: () => {}, warn: () => {}, error: (message, fields) => errors.push({ message, ...fields }) };
  return { log, errors };
}

describe("map errors", () => {
  it("a domain failure answers its code, its reason and the field at fault, and is not logged", () => {
    const { log, errors } = recordingLog();
    const answer = mapError(invalidArgument("key.name", "is too long"), "req1", "latchkey.v1.KeyService/UpdateKey", log);
    expect(answer.code).toBe(Code.InvalidArgument);
    expect(answer.findDetails(ErrorInfoSchema)[0]!.reason).toBe("INVALID_FIELD");
    expect(answer.findDetails(BadRequestSchema)[0]!.fieldViolations).toMatchObject([{ field: "key.name", description: "is too long" }]);
    expect(errors).toEqual([]);
  });

  it("anything unexpected answers INTERNAL with only the request id to quote, and is logged for the operator", () => {
    const { log, errors } = recordingLog();
    const answer = mapError(new TypeError("secret detail"), "req2", "latchkey.v1.KeyService/GetKey", log);
    expect(answer.code).toBe(Code.Internal);
    expect(answer.rawMessage).toBe("internal error. Quote request id req2 to the operator");
    expect(errors).toMatchObject([
      { message: "unexpected failure", procedure: "latchkey.v1.KeyService/GetKey", requestId: "req2", error: "TypeError: secret detail" },
    ]);
  });

  it("a ConnectError passes as it is; audit outcomes name codes in snake case", () => {
    const { log } = recordingLog();
    const given = new ConnectError("gone", Code.DeadlineExceeded);
    expect(mapError(given, "req3", "p", log)).toBe(given);
    expect(outcomeOf(given)).toBe("deadline_exceeded");
    expect(outcomeOf()).toBe("ok");
  });
});
