import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { DigestEncoding, type ImportedKey, type ImportKeysRequest, type ImportKeysResponseSchema, KeySchema } from "../../../gen/latchkey/v1/key_pb.js";
import type { Caller } from "../../domain/access.js";
import { alreadyExists, DomainError, invalidArgument } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { ALL_KEY_ATTRIBUTES, type KeyRecord, newKeyRecord, validateKeyAttributes, validateKeyPrefix } from "../../domain/key.js";
import type { KeyspaceRecord } from "../../domain/keyspace.js";
import { digestSecret, importedDigest, PREFIX_PATTERN } from "../../domain/secret.js";
import { keyAttributesFromProto, keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { registerPermissions, requireIdentityLink, requireRoles } from "../references.js";
import { loadKeyspace, requireId } from "../requests.js";
import { sealIfRecoverable } from "./recoverable.js";
import { keyChanged } from "../../verify/change-feed.js";

const ENCODINGS = { [DigestEncoding.HEX]: "hex", [DigestEncoding.BASE64]: "base64", [DigestEncoding.BASE64URL]: "base64url" } as const;

/**
 * Each key is checked and stored on its own, so one bad or duplicate item costs only itself. A call
 * that imported nothing keeps nothing for retries of its request_id. The secrets' digests are published like created keys', so every instance's known-digest filter
 * admits them, whatever their format, within a change-feed poll.
 */
export const importKeys =
  (deps: ServiceDeps) =>
  async (request: ImportKeysRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof ImportKeysResponseSchema>>> => {
    const caller = callerIn(context);
    const keyspaceId = requireId("ks", request.keyspaceId, "keyspace_id");
    const keyspace = await loadKeyspace(deps.store, caller, keyspaceId);
    const at = deps.now();
    const imported: KeyRecord[] = [];
    const taken = new Set<string>();
    const results = [];
    for (const [i, item] of request.keys.entries()) {
      try {
        const key = await importedKey(deps, caller, keyspace, item, `keys[${i}]`, at);
        // A duplicate with permissions to register is looked up first, so that it registers none; the insert still decides a race.
        if (taken.has(key.hash) || (key.permissions.length > 0 && (await deps.store.findKeyByHash(caller.workspaceId, key.hash)))) {
          throw alreadyExists(`keys[${i}] has the secret of a key that already exists`);
        }
        taken.add(key.hash);
        await registerPermissions(deps.store, caller.workspaceId, key.permissions, at, deps.random);
        await deps.store.insertKey(key).catch((error: unknown) => {
          throw error instanceof DomainError && error.kind === "already_exists"
            ? alreadyExists(`keys[${i}] has the secret of a key that already exists`)
            : error;
        });
        imported.push(key);
        results.push({ key: keyToProto(key, at) });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        results.push({ errorCode: error.kind.toUpperCase(), errorMessage: error.message });
      }
    }
    return {
      response: { results },
      audit: { targets: [keyspaceId, ...imported.map((key) => key.id)], summary: { imported: imported.length, failed: results.length - imported.length } },
      changes: imported.map(keyChanged),
      changedNothing: imported.length === 0,
    };
  };

/** The key an item describes, checked; nothing is written. */
async function importedKey(deps: ServiceDeps, caller: Caller, keyspace: KeyspaceRecord, item: ImportedKey, path: string, at: number): Promise<KeyRecord> {
  const input = item.key ?? create(KeySchema);
  const attributes = validateKeyAttributes(keyAttributesFromProto(input, `${path}.key`), { now: at, changed: ALL_KEY_ATTRIBUTES, path: `${path}.key` });
  if (input.prefix) validateKeyPrefix(`${path}.key.prefix`, input.prefix);
  await requireRoles(deps.store, caller.workspaceId, attributes.roles, `${path}.key.roles`);
  requireIdentityLink(caller, attributes.externalId, false);
  const secret = item.secret;
  let hash: string;
  let prefix = input.prefix;
  let start = "";
  if (secret.case === "plaintext") {
    hash = digestSecret(secret.value);
    const separator = secret.value.indexOf("_");
    if (!prefix && separator > 0 && PREFIX_PATTERN.test(secret.value.slice(0, separator))) prefix = secret.value.slice(0, separator);
    // The prefix and a few characters, never more than a third of the secret.
    start = secret.value.slice(0, Math.min((prefix ? prefix.length + 1 : 0) + keyspace.startLength, Math.floor(secret.value.length / 3)));
  } else {
    const digest = secret.value!;
    const normalized = importedDigest(digest.value, ENCODINGS[digest.encoding as keyof typeof ENCODINGS]);
    if (!normalized) throw invalidArgument(`${path}.digest.value`, `is not a SHA-256 digest in ${DigestEncoding[digest.encoding]}`);
    hash = normalized;
  }
  const key = newKeyRecord(
    attributes,
    { id: newId("key", at, deps.random), workspaceId: caller.workspaceId, keyspaceId: keyspace.id, hash, prefix, start, createdBy: input.createdBy },
    at,
  );
  // A key imported by digest cannot be recoverable: its secret is not known here.
  if (secret.case === "plaintext") key.sealedSecret = sealIfRecoverable(deps.vault, keyspace, key.id, secret.value);
  return key;
}
