import type { JsonObject, RateLimit } from "./key.js";
import { checkJson, checkRateLimits } from "./key-field-checks.js";
import { checkLength } from "./validate.js";

/** The caller's own user or organization; keys carrying its external id share its rate limits. */
export interface IdentityRecord {
  id: string;
  workspaceId: string;
  externalId: string;
  meta: JsonObject | null;
  rateLimits: RateLimit[];
  createdAt: Date;
  updatedAt: Date;
}

export type IdentitySettings = Pick<IdentityRecord, "meta" | "rateLimits">;

export const IDENTITY_SETTING_FIELDS = { meta: "meta", rateLimits: "rate_limits" } as const satisfies Record<keyof IdentitySettings, string>;

export const validateExternalId = (externalId: string, path = "identity.external_id") => checkLength(path, externalId, 256, 1);

export function validateIdentitySettings(settings: Partial<IdentitySettings>, path = "identity") {
  if (settings.meta !== undefined) checkJson(`${path}.meta`, settings.meta);
  if (settings.rateLimits !== undefined) checkRateLimits(`${path}.rate_limits`, settings.rateLimits);
}
