import type { Interceptor } from "@connectrpc/connect";

/** The ADMIN_TOKEN of every server the tests start. */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdefghijklmnop";

/** Sends `Authorization: Bearer <secret>` on every call; the secret may still be on its way. */
export function bearer(secret: string | (() => Promise<string>)): Interceptor {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${typeof secret === "string" ? secret : await secret()}`);
    return next(request);
  };
}
