import { type LatchkeyClient, LatchkeyError } from "@latchkey/client/web";
import { createLatchkeyClient } from "@latchkey/client/web";
import { MANAGEMENT_PERMISSIONS, type ManagementPermission, WORKSPACE_WIDE } from "../../../src/domain/access.js";

export { MANAGEMENT_PERMISSIONS };

/** The tab's root key lives here only: sessionStorage ends with the tab, and sign-out clears it. */
const STORAGE_KEY = "latchkey.console.rootKey";

export const storedRootKey = (): string | null => sessionStorage.getItem(STORAGE_KEY);
export const forgetRootKey = () => sessionStorage.removeItem(STORAGE_KEY);

/** What the signed-in root key may do, as GetCurrentRootKey answers: its own record, which any root key may read. */
export interface Access {
  name: string;
  permissions: ReadonlySet<string>;
  /** Empty: every keyspace. */
  keyspaceIds: readonly string[];
}

export interface Session {
  api: LatchkeyClient;
  access: Access;
  /**
   * True when the root key holds the permission and may use it: a key narrowed to keyspaces may not
   * use a workspace-wide one. Pages and actions it may not use are left out.
   */
  may(permission: string): boolean;
}

export async function signIn(rootKey: string): Promise<Session> {
  const api = createLatchkeyClient({ baseUrl: location.origin, rootKey });
  const { rootKey: own } = await api.rootKeys.getCurrentRootKey({});
  const access: Access = { name: own?.name ?? "", permissions: new Set(own?.permissions ?? []), keyspaceIds: own?.keyspaceIds ?? [] };
  sessionStorage.setItem(STORAGE_KEY, rootKey);
  const narrowed = access.keyspaceIds.length > 0;
  return {
    api,
    access,
    may: (permission) => access.permissions.has(permission) && !(narrowed && WORKSPACE_WIDE.has(permission as ManagementPermission)),
  };
}

export const timestamp = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
export const millis = (time: { seconds: bigint; nanos: number } | undefined) =>
  time ? Number(time.seconds) * 1000 + Math.floor(time.nanos / 1_000_000) : undefined;

/** A refusal as the console shows it: the stable reason from ErrorInfo first, then the message. */
export function describeError(error: unknown): string {
  const refused = LatchkeyError.from(error);
  return refused.reason ? `${refused.reason}: ${refused.message}` : refused.message;
}
