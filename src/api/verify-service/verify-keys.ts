import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { VerifyKeyResponseSchema, type VerifyKeysRequest, VerifyKeysResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { repeatedFieldEncoding, withEncodingAndLazyField } from "../../transport/encoding.js";
import type { VerifyResult } from "../../verify/verifier.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { verifyRequestFromProto, verifyResultToProto } from "./verify-request.js";

/**
 * At most this many of a batch's verifications wait on storage at once: a batch of uncached keys
 * must not take the whole connection pool from other callers.
 */
export const MAX_PENDING_PER_BATCH = 16;

/** Runs the verifications in order; those answered from memory finish at once, the rest at most MAX_PENDING_PER_BATCH at a time. */
async function verifyAll(verifications: (() => VerifyResult | Promise<VerifyResult>)[]): Promise<VerifyResult[]> {
  const results: (VerifyResult | Promise<VerifyResult>)[] = [];
  const pending = new Set<Promise<unknown>>();
  for (const verify of verifications) {
    if (pending.size >= MAX_PENDING_PER_BATCH) await Promise.race(pending);
    const result = verify();
    results.push(result);
    if (result instanceof Promise) {
      const settled: Promise<unknown> = result.finally(() => pending.delete(settled));
      pending.add(settled);
    }
  }
  // A batch answered wholly from memory skips Promise.all's hundred microtasks.
  return results.some((result) => result instanceof Promise) ? Promise.all(results) : (results as VerifyResult[]);
}

/** A malformed request fails the call, naming its index; each key gets its own verdict. At most 1000, by the proto's rule. */
export const verifyKeys =
  ({ verifier }: ServiceDeps) =>
  async (request: VerifyKeysRequest, context: HandlerContext): Promise<MessageInitShape<typeof VerifyKeysResponseSchema>> => {
    const caller = callerIn(context);
    const checked = request.requests.map((item, i) => verifyRequestFromProto(item, caller, `requests[${i}].`));
    const settled = await verifyAll(checked.map((item) => () => verifier.verify(item)));
    const results = settled.map(verifyResultToProto);
    // Answers with counters are not messages: they become messages only if a transport reads the field.
    const messages = () => results.map((result) => create(VerifyKeyResponseSchema, result));
    return withEncodingAndLazyField(create(VerifyKeysResponseSchema), "results", messages, repeatedFieldEncoding(1, VerifyKeyResponseSchema, results));
  };
