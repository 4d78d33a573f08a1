import type { Interceptor } from "@connectrpc/connect";

/** The ADMIN_TOKEN of every server the tests start. */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdefghijklmnop";

/** Key-encryption keys for recoverable keyspaces in tests: the newest first, and an older one still configured. */
export const TEST_KEY_ENCRYPTION_KEYS = [
  { id: "test-2", key: Buffer.alloc(32, 2) },
  { id: "test-1", key: Buffer.alloc(32, 1) },
];

/** Sends `Authorization: Bearer <secret>` on every call; the secret may still be on its way. */
export function bearer(secret: string | (() => Promise<string>)): Interceptor {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${typeof secret === "string" ? secret : await secret()}`);
    return next(request);
  };
}
