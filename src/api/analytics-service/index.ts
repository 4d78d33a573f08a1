import type { AnalyticsService } from "../../../gen/latchkey/v1/analytics_pb.js";
import type { ServiceDeps } from "../deps.js";
import { type Procedures, read } from "../../pipeline/procedures.js";
import { getKeyUsage } from "./get-key-usage.js";
import { getRatelimitOutcomes } from "./get-ratelimit-outcomes.js";
import { getVerifications } from "./get-verifications.js";

export const analyticsService = (deps: ServiceDeps): Procedures<typeof AnalyticsService> => ({
  getVerifications: read("analytics.read", getVerifications(deps)),
  getKeyUsage: read("analytics.read", getKeyUsage(deps)),
  getRatelimitOutcomes: read("analytics.read", getRatelimitOutcomes(deps)),
});
