import { createContextValues } from "@connectrpc/connect";
import type { Caller, ManagementPermission } from "../../src/domain/access.js";
import type { CallContext } from "../../src/pipeline/context.js";

/** A call context as a transport would hand it over, with these request headers; what the pipeline answers lands in `responseHeaders`. */
export function fakeContext(requestHeaders: Record<string, string> = {}): CallContext & { responseHeaders: Map<string, string> } {
  const responseHeaders = new Map<string, string>();
  return {
    values: createContextValues(),
    requestHeaderValue: (name: string) => requestHeaders[name] ?? null,
    setResponseHeaderValue: (name: string, value: string) => void responseHeaders.set(name, value),
    responseHeaders,
  } as unknown as CallContext & { responseHeaders: Map<string, string> };
}

export const callerHolding = (permissions: ManagementPermission[], workspaceId = "ws_test"): Caller => ({
  actor: "rk_test",
  workspaceId,
  permissions: new Set(permissions),
  keyspaceIds: undefined,
});
