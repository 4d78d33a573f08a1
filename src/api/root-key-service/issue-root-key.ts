import { type ManagementPermission, ROOT_KEY_PREFIX, type RootKeyRecord } from "../../domain/access.js";
import { newId } from "../../domain/ids.js";
import { issueSecret } from "../../domain/secret.js";
import type { ServiceDeps } from "../deps.js";

/** 32 random bytes: root keys guard everything, so they get twice an ordinary key's default. */
const ROOT_KEY_BYTES = 32;
const ROOT_KEY_START_LENGTH = 4;

export interface RootKeyDraft {
  workspaceId: string;
  name: string;
  permissions: ManagementPermission[];
  keyspaceIds: string[];
  createdBy: string;
  expiresAt: Date | null;
}

/**
 * Stores a new root key's digest and returns the record with its secret, which exists nowhere else,
 * and the change that tells every instance's known-digest filter of it.
 */
export async function issueRootKey({ store, now, random }: ServiceDeps, draft: RootKeyDraft) {
  const at = now();
  const issued = issueSecret(ROOT_KEY_PREFIX, ROOT_KEY_BYTES, ROOT_KEY_START_LENGTH, random);
  const rootKey: RootKeyRecord = {
    ...draft,
    id: newId("rk", at, random),
    hash: issued.digest,
    start: issued.start,
    replacedBy: "",
    revokedAt: null,
    createdAt: new Date(at),
  };
  await store.rootKeys.insert(rootKey);
  return { rootKey, secret: issued.secret, change: { rootKeyHash: rootKey.hash } };
}
