import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "../../gen/google/rpc/status_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { file_latchkey_v1_errors } from "../../gen/latchkey/v1/errors_pb.js";
import { analyticsService } from "../api/analytics-service/index.js";
import { auditService } from "../api/audit-service/index.js";
import type { ServiceDeps } from "../api/deps.js";
import { identityService } from "../api/identity-service/index.js";
import { keyService } from "../api/key-service/index.js";
import { keyspaceService } from "../api/keyspace-service/index.js";
import { ratelimitService } from "../api/ratelimit-service/index.js";
import { rbacService } from "../api/rbac-service/index.js";
import { rootKeyService } from "../api/root-key-service/index.js";
import { verifyService } from "../api/verify-service/index.js";
import { workspaceService } from "../api/workspace-service/index.js";
import { PageReadahead } from "../api/analytics-service/page-readahead.js";
import type { RandomSource } from "../domain/base58.js";
import { type KeyEncryptionKey, SecretVault } from "../domain/secret-vault.js";
import type { Logger } from "../observability/log.js";
import { AuditLog } from "../pipeline/audit-log.js";
import { Pipeline } from "../pipeline/compose.js";
import { metricsAndAccessLog } from "../pipeline/observe.js";
import type { Procedures } from "../pipeline/procedures.js";
import { RequestValidator } from "../pipeline/validate.js";
import { withFetchHeaderAccess } from "../transport/connect-adapter.js";
import { type HealthState, healthService } from "../transport/health.js";
import { reflectionServices } from "../transport/reflection.js";
import type { Verification } from "../verify/index.js";
import { API_SERVICE_TABLE, API_SERVICES, type ApiServiceTable } from "./api-services.js";

/** The handlers of every API service, by the same names as API_SERVICE_TABLE: a service without handlers does not compile. */
const SERVICE_HANDLERS: { [Name in keyof ApiServiceTable]: (deps: ServiceDeps) => Procedures<ApiServiceTable[Name]> } = {
  workspaces: workspaceService,
  rootKeys: rootKeyService,
  keyspaces: keyspaceService,
  keys: keyService,
  verify: verifyService,
  identities: identityService,
  rbac: rbacService,
  audit: auditService,
  ratelimits: ratelimitService,
  analytics: analyticsService,
};

/** Served beside the API, without its authentication: the gRPC health check and server reflection. */
export const OPEN_SERVICES: readonly DescService[] = [Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection];

/** The services whose state the health check reports: the API's, and the server's as a whole through Health. */
export const HEALTH_REPORTED_SERVICES: readonly DescService[] = [...API_SERVICES, Health];

/**
 * Served by reflection although no service imports them, so that grpcurl decodes the details of
 * every error (ErrorInfo, BadRequest and the other google.rpc types) and can describe the
 * catalogue of reasons.
 */
const ERROR_DETAIL_FILES = [file_google_rpc_error_details, file_google_rpc_status, file_latchkey_v1_errors];

/** What the handlers share: one set per instance, for a listening server and for in-process tests alike. */
export function serviceDeps(
  options: { store: ServiceDeps["store"]; now: () => number; random?: RandomSource; keyEncryptionKeys?: readonly KeyEncryptionKey[] },
  verification: Verification,
): ServiceDeps {
  const { store, now, random } = options;
  return {
    store,
    now,
    random,
    changes: verification.changes,
    verifier: verification.verifier,
    creditShares: verification.creditShares,
    ratelimiter: verification.ratelimiter,
    vault: SecretVault.from(options.keyEncryptionKeys ?? []),
    verificationPages: new PageReadahead(now),
  };
}

/** Every service and its implementation, each method behind the call pipeline, for whichever server carries them. */
export function serviceImplementations(
  deps: ServiceDeps,
  health: HealthState,
  options: { verification: Verification; log: Logger; accessLog: boolean },
): [DescService, object][] {
  const { verification, log } = options;
  const pipeline = new Pipeline({
    credentials: verification.credentials,
    store: deps.store,
    now: deps.now,
    audit: new AuditLog(deps.store, deps.now, log),
    validator: new RequestValidator(),
    changes: deps.changes,
    observers: [metricsAndAccessLog(verification.metrics, log, options.accessLog)],
    log,
  });
  const api = (Object.keys(API_SERVICE_TABLE) as (keyof ApiServiceTable)[]).map(<Name extends keyof ApiServiceTable>(name: Name): [DescService, object] => {
    const service = API_SERVICE_TABLE[name] as ApiServiceTable[Name];
    return [service, pipeline.api(service, SERVICE_HANDLERS[name](deps) as Procedures<ApiServiceTable[Name]>)];
  });
  const reflection = reflectionServices([...API_SERVICES, ...OPEN_SERVICES], ERROR_DETAIL_FILES);
  return [
    ...api,
    [Health, pipeline.open(Health, healthService(health))],
    [reflectionV1.ServerReflection, pipeline.open(reflectionV1.ServerReflection, reflection.v1)],
    [reflectionV1alpha.ServerReflection, pipeline.open(reflectionV1alpha.ServerReflection, reflection.v1alpha)],
  ];
}

/** The Connect router's routes, for a listening server and for in-process test transports alike. */
export function apiRoutes(services: readonly [DescService, object][]) {
  return (router: ConnectRouter) => {
    for (const [service, implementation] of services) router.service(service, withFetchHeaderAccess(service, implementation) as never);
  };
}
