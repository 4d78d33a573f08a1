import { Granularity, type LatchkeyClient, LatchkeyError, pages } from "@latchkey/client/web";
import { createLatchkeyClient } from "@latchkey/client/web";
import { MANAGEMENT_PERMISSIONS } from "../../../src/domain/access.js";

export { MANAGEMENT_PERMISSIONS };

/** The tab's root key lives here only: sessionStorage ends with the tab, and sign-out clears it. */
const STORAGE_KEY = "latchkey.console.rootKey";

export const storedRootKey = (): string | null => sessionStorage.getItem(STORAGE_KEY);
export const forgetRootKey = () => sessionStorage.removeItem(STORAGE_KEY);

/**
 * What the signed-in root key may do. `permissions` is exact when the key holds root_key.manage
 * (it finds itself among the workspace's root keys by the start of its secret); otherwise the
 * reads were tried once each and `permissions` holds those that answered, and writes are offered
 * and a refusal shows its reason.
 */
export interface Access {
  exact: boolean;
  name: string;
  permissions: ReadonlySet<string>;
  /** Permissions known to be missing: those of the reads that were refused. */
  refused: ReadonlySet<string>;
  /** Empty: every keyspace. */
  keyspaceIds: readonly string[];
}

export interface Session {
  api: LatchkeyClient;
  access: Access;
  /** True when the root key is known to hold it, or (not exact) when it cannot be told before trying. */
  may(permission: string): boolean;
}

export async function signIn(rootKey: string): Promise<Session> {
  const api = createLatchkeyClient({ baseUrl: location.origin, rootKey });
  const access = await discoverAccess(api, rootKey);
  sessionStorage.setItem(STORAGE_KEY, rootKey);
  return {
    api,
    access,
    may: (permission) => access.permissions.has(permission) || (!access.exact && !access.refused.has(permission)),
  };
}

/** One harmless read per permission, for a root key that cannot list root keys. */
const READ_PROBES: readonly [string, (api: LatchkeyClient) => Promise<unknown>][] = [
  ["keyspace.read", (api) => api.keyspaces.listKeyspaces({ pageSize: 1 })],
  ["analytics.read", (api) => api.analytics.getVerifications({ startTime: timestamp(Date.now() - 3600_000), granularity: Granularity.HOUR, pageSize: 1 })],
  ["audit.read", (api) => api.audit.listAuditEvents({ pageSize: 1 })],
  ["identity.read", (api) => api.identities.listIdentities({ pageSize: 1 })],
  ["rbac.read", (api) => api.rbac.listPermissions({ pageSize: 1 })],
  ["workspace.read", (api) => api.workspaces.getWorkspace({})],
  ["ratelimit.manage", (api) => api.ratelimits.listNamespaces({ pageSize: 1 })],
];

async function discoverAccess(api: LatchkeyClient, rootKey: string): Promise<Access> {
  // A root key without root_key.manage is refused here (PERMISSION_MISSING), and learns its grants from the reads below.
  try {
    const mine = [];
    for await (const candidate of pages(
      (request) => api.rootKeys.listRootKeys(request),
      { pageSize: 100 },
      (page) => page.rootKeys,
    )) {
      if (!candidate.revokedAt && candidate.start && rootKey.startsWith(candidate.start)) mine.push(candidate);
    }
    if (mine.length === 1)
      return { exact: true, name: mine[0]!.name, permissions: new Set(mine[0]!.permissions), refused: new Set(), keyspaceIds: mine[0]!.keyspaceIds };
  } catch (error) {
    if (LatchkeyError.from(error).reason !== "PERMISSION_MISSING") throw error;
  }
  const permissions = new Set<string>();
  const refused = new Set<string>(["root_key.manage"]);
  await Promise.all(
    READ_PROBES.map(([permission, probe]) =>
      probe(api).then(
        () => permissions.add(permission),
        (error: unknown) => {
          if (LatchkeyError.from(error).reason !== "PERMISSION_MISSING") throw error;
          refused.add(permission);
        },
      ),
    ),
  );
  return { exact: false, name: "", permissions, refused, keyspaceIds: [] };
}

export const timestamp = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
export const millis = (time: { seconds: bigint; nanos: number } | undefined) =>
  time ? Number(time.seconds) * 1000 + Math.floor(time.nanos / 1_000_000) : undefined;

/** A refusal as the console shows it: the stable reason from ErrorInfo first, then the message. */
export function describeError(error: unknown): string {
  const refused = LatchkeyError.from(error);
  return refused.reason ? `${refused.reason}: ${refused.message}` : refused.message;
}
