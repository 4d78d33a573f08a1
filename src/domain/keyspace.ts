import { DEFAULT_BYTE_LENGTH, PREFIX_PATTERN } from "./secret.js";
import { checkName, checkPattern } from "./validate.js";

export interface KeyspaceRecord {
  id: string;
  workspaceId: string;
  name: string;
  defaultPrefix: string;
  defaultByteLength: number;
  startLength: number;
  /** New keys' secrets are also kept sealed (SecretVault), so GetKey with `decrypt` can show them. */
  recoverable: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type KeyspaceSettings = Pick<KeyspaceRecord, "name" | "defaultPrefix" | "defaultByteLength" | "startLength" | "recoverable">;

export const DEFAULT_PREFIX = "lk";
export const DEFAULT_START_LENGTH = 4;
export const PREFIX_DESCRIPTION = "1 to 16 characters of a-z and 0-9 and underscore starting with a letter and not ending with underscore";

export const KEYSPACE_SETTING_FIELDS = {
  name: "name",
  defaultPrefix: "default_prefix",
  defaultByteLength: "default_byte_length",
  startLength: "start_length",
  recoverable: "recoverable",
} as const satisfies Record<keyof KeyspaceSettings, string>;

/** Fills defaults for what a new keyspace leaves unset. */
export function keyspaceDefaults(input: Partial<KeyspaceSettings>): KeyspaceSettings {
  return {
    name: input.name ?? "",
    defaultPrefix: input.defaultPrefix || DEFAULT_PREFIX,
    defaultByteLength: input.defaultByteLength || DEFAULT_BYTE_LENGTH,
    startLength: input.startLength ?? DEFAULT_START_LENGTH,
    recoverable: input.recoverable ?? false,
  };
}

export function validateKeyspaceSettings(settings: Partial<KeyspaceSettings>, path = "keyspace"): void {
  const field = (name: keyof KeyspaceSettings) => `${path}.${KEYSPACE_SETTING_FIELDS[name]}`;
  if (settings.name !== undefined) checkName(field("name"), settings.name);
  if (settings.defaultPrefix !== undefined) {
    checkPattern(field("defaultPrefix"), settings.defaultPrefix, PREFIX_PATTERN, PREFIX_DESCRIPTION);
  }
}
