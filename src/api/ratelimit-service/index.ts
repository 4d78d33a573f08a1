import type { RatelimitService } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { deleteNamespace } from "./delete-namespace.js";
import { deleteOverride } from "./delete-override.js";
import { getOverride } from "./get-override.js";
import { limit } from "./limit.js";
import { listNamespaces } from "./list-namespaces.js";
import { listOverrides } from "./list-overrides.js";
import { multiLimit } from "./multi-limit.js";
import { setOverride } from "./set-override.js";

/** Limit and MultiLimit are answered like verifications: not audited, and from memory when they can be. */
export const ratelimitService = (deps: ServiceDeps): Procedures<typeof RatelimitService> => ({
  limit: read("ratelimit.limit", limit(deps)),
  multiLimit: read("ratelimit.limit", multiLimit(deps)),
  setOverride: mutation("ratelimit.manage", "ratelimit.override.set", setOverride(deps)),
  getOverride: read("ratelimit.manage", getOverride(deps)),
  listOverrides: read("ratelimit.manage", listOverrides(deps)),
  deleteOverride: mutation("ratelimit.manage", "ratelimit.override.delete", deleteOverride(deps)),
  listNamespaces: read("ratelimit.manage", listNamespaces(deps)),
  deleteNamespace: mutation("ratelimit.manage", "ratelimit.namespace.delete", deleteNamespace(deps)),
});
