import { create, type DescMessage, type DescMethod, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { hash } from "node:crypto";
import { ABANDONED_REQUEST_MS, type IdempotentRequestRecord } from "../domain/idempotency.js";
import { DomainError, failedPrecondition } from "../domain/errors.js";
import type { Store } from "../store/store.js";
import type { Caller } from "../domain/access.js";
import type { Audited, AuditNote } from "./procedures.js";

/**
 * Runs a mutation once per caller and `request_id` (AIP-155), for methods whose request has one.
 * The first call claims the id in the store (a unique insert decides between instances), runs, and
 * keeps its answer and the ids it acted on; a retry by the same caller with the same id and request
 * gets that answer again, with any secret removed (a secret is shown once and never stored) and
 * `secret_withheld` set, and the first call's targets, for the caller to check access to them and
 * audit. A different request under a used id is refused; a retry while the first call runs is told
 * to wait. A call that fails, or that changed nothing, gives its id up, so a retry runs afresh.
 *
 * `caller` names who calls (workspace and root key): request ids are the caller's own, so another
 * root key's retry never reaches this caller's answers, learns which ids it used, or takes one first.
 */
export async function runOnce<T>(
  store: Store,
  now: () => number,
  caller: string,
  method: DescMethod,
  request: Message,
  run: () => Promise<Audited<T>>,
): Promise<{ response: T | Message; audit: AuditNote; replayed: boolean }> {
  const requestId = (request as { requestId?: unknown }).requestId;
  if (typeof requestId !== "string" || requestId === "") return { ...(await run()), replayed: false };
  const id = requestRecordId(caller, method, requestId);
  const fingerprint = hash("sha256", toBinary(method.input, { ...request, requestId: "" } as Message));
  const startedAt = now();
  const earlier = await claim(store, { id, fingerprint, state: "running", response: null, targets: [], startedAt });
  if (earlier) {
    if (earlier.fingerprint !== fingerprint) {
      throw failedPrecondition(`request_id ${requestId} was first used for a different request`, "REQUEST_ID_REUSED");
    }
    if (earlier.state === "done") {
      const response = withheld(method.output, fromBinary(method.output, Buffer.from(earlier.response!, "base64")));
      return { response, audit: { targets: earlier.targets, summary: { replayed: true } }, replayed: true };
    }
    const abandoned = startedAt - earlier.startedAt > ABANDONED_REQUEST_MS;
    if (!abandoned || !(await store.requests.update({ id, startedAt: earlier.startedAt }, { startedAt }))) {
      throw new DomainError("aborted", `a call with request_id ${requestId} is still running. Retry shortly for its answer`);
    }
  }
  let done: Audited<T>;
  try {
    done = await run();
  } catch (error) {
    await store.requests.delete({ id });
    throw error;
  }
  if (done.changedNothing) {
    await store.requests.delete({ id });
  } else {
    const kept = toBinary(method.output, withoutSecrets(method.output, create(method.output, done.response as never)));
    await store.requests.update({ id }, { state: "done", response: Buffer.from(kept).toString("base64"), targets: done.audit.targets });
  }
  return { response: done.response, audit: done.audit, replayed: false };
}

/** The key of a kept answer: the caller, the method and the caller's request id. */
export const requestRecordId = (caller: string, method: DescMethod, requestId: string) => `${caller}:${method.parent.typeName}/${method.name}:${requestId}`;

/** The record of an earlier call with the id, or undefined when this call is the first. */
async function claim(store: Store, record: IdempotentRequestRecord): Promise<IdempotentRequestRecord | undefined> {
  try {
    await store.requests.insert(record);
    return undefined;
  } catch (error) {
    if (!(error instanceof DomainError) || error.kind !== "already_exists") throw error;
  }
  const earlier = await store.requests.find({ id: record.id });
  // Given up between the insert and the read (its call failed): this call may run it.
  return earlier ?? claim(store, record);
}

/** String fields named `secret` or `…_secret` at the top of a response: what must never be kept. */
const secretFields = (schema: DescMessage) => schema.fields.filter((field) => field.fieldKind === "scalar" && /(^|_)secret$/.test(field.name));

function withoutSecrets(schema: DescMessage, response: Message): Message {
  const copy = { ...response } as Record<string, unknown>;
  for (const field of secretFields(schema)) copy[field.localName] = "";
  return copy as Message;
}

function withheld(schema: DescMessage, response: Message): Message {
  const withheldField = schema.fields.find((field) => field.name === "secret_withheld");
  return withheldField ? ({ ...response, [withheldField.localName]: true } as Message) : response;
}

/** Whose request ids these are: a root key's (within its workspace), or the operator's. */
export const requestScope = (caller: Caller) => `${caller.workspaceId || "operator"}:${caller.actor}`;
