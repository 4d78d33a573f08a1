#!/usr/bin/env node
/// <reference types="node" />
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { create, createRegistry, type Message, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { file_latchkey_v1_analytics, GetVerificationsResponseSchema, Granularity, type VerificationBucket } from "../../../gen/latchkey/v1/analytics_pb.js";
import { file_latchkey_v1_audit, ListAuditEventsResponseSchema } from "../../../gen/latchkey/v1/audit_pb.js";
import { CreditOperation, file_latchkey_v1_key, type Key, KeyStatus, ListKeysResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { file_latchkey_v1_keyspace, type Keyspace, ListKeyspacesResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { file_latchkey_v1_root_key, ListRootKeysResponseSchema, type RootKey } from "../../../gen/latchkey/v1/root_key_pb.js";
import { file_latchkey_v1_verify, VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { file_latchkey_v1_workspace } from "../../../gen/latchkey/v1/workspace_pb.js";
import { LatchkeyError, pages } from "./index.js";
import { createLatchkeyClient } from "./node.js";

/** Exit codes, documented in docs/cli.md: scripts branch on them. */
const EXIT = { ok: 0, notValid: 1, usage: 2, auth: 3, notFound: 4, unavailable: 5, refused: 6 } as const;

const USAGE = `latchkey: everyday operations on a latchkey service (docs/cli.md)

  latchkey workspace create --name NAME            (needs LATCHKEY_ADMIN_TOKEN)
  latchkey keyspace create --name NAME [--prefix PREFIX] | list | get ID
  latchkey key create --keyspace ID [--name NAME] [--permission P]... [--credits N] [--expires ISO-TIME]
  latchkey key list --keyspace ID | get ID | update ID [--name NAME] [--enabled true|false]
  latchkey key revoke ID [--reason TEXT] | reroll ID [--grace-ms N] | credits ID (--set N | --add N | --subtract N)
  latchkey verify SECRET [--permission-query QUERY]
  latchkey root-key create --name NAME --permission P... [--keyspace ID]... | list | revoke ID
  latchkey audit [--action ACTION] [--limit N]
  latchkey analytics [--keyspace ID] [--days N] | usage KEY-ID
  latchkey profile save                             (keeps LATCHKEY_URL and LATCHKEY_ROOT_KEY, mode 0600)

Options: --json (the answer as protobuf JSON, for scripts), --url URL, --help
Settings: LATCHKEY_URL (default http://127.0.0.1:8080), LATCHKEY_ROOT_KEY, LATCHKEY_ADMIN_TOKEN,
or the profile file (LATCHKEY_PROFILE, default ~/.config/latchkey/profile.json).
Exit codes: 0 done or valid, 1 not valid, 2 usage or invalid input, 3 credentials refused,
4 not found, 5 service unavailable, 6 refused for another reason (the reason is printed).`;

class UsageError extends Error {}

const OPTIONS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  url: { type: "string" },
  name: { type: "string" },
  prefix: { type: "string" },
  keyspace: { type: "string", multiple: true },
  permission: { type: "string", multiple: true },
  credits: { type: "string" },
  expires: { type: "string" },
  enabled: { type: "string" },
  reason: { type: "string" },
  "grace-ms": { type: "string" },
  set: { type: "string" },
  add: { type: "string" },
  subtract: { type: "string" },
  "permission-query": { type: "string" },
  action: { type: "string" },
  limit: { type: "string" },
  days: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Profile {
  url?: string;
  rootKey?: string;
}

const defaultProfilePath = (env: NodeJS.ProcessEnv) =>
  env.LATCHKEY_PROFILE ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "latchkey", "profile.json");

/** The profile holds a root key: one others on the machine can read is refused, not used. */
function readProfile(path: string): Profile {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return {};
  }
  if (mode & 0o077)
    throw new UsageError(`${path} can be read by others than its owner: run chmod 600 ${path}, and rotate the root key it holds if others could read it`);
  return JSON.parse(readFileSync(path, "utf8")) as Profile;
}

function saveProfile(path: string, profile: Profile) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

const registry = createRegistry(
  file_latchkey_v1_workspace,
  file_latchkey_v1_keyspace,
  file_latchkey_v1_key,
  file_latchkey_v1_root_key,
  file_latchkey_v1_verify,
  file_latchkey_v1_audit,
  file_latchkey_v1_analytics,
);

/** What a command answers: the message itself for --json, and rows for people. */
interface Answer {
  message: Message;
  rows: Record<string, string>[];
  exitCode?: number;
}

const time = (timestamp: Timestamp | undefined) => (timestamp ? timestampDate(timestamp).toISOString() : "");
const keyRow = (key: Key | undefined) => ({
  id: key?.id ?? "",
  name: key?.name ?? "",
  start: key?.start ?? "",
  status: key ? KeyStatus[key.status] : "",
  credits: key?.credits?.remaining === undefined ? "unlimited" : String(key.credits.remaining),
  permissions: key?.permissions.join(" ") ?? "",
  expires: time(key?.expiresAt),
});
/** A day of verifications: how many, how many valid, and the other outcomes by name. */
const usageRow = (bucket: VerificationBucket) => ({
  day: time(bucket.time).slice(0, 10),
  total: String(bucket.total),
  valid: String(bucket.valid),
  refused: Object.entries(bucket.outcomes)
    .filter(([outcome]) => outcome !== "VERIFY_CODE_VALID")
    .map(([outcome, count]) => `${outcome.replace("VERIFY_CODE_", "")} ${count}`)
    .join(" "),
  credits: String(bucket.creditsSpent),
});
const keyspaceRow = (keyspace: Keyspace | undefined) => ({ id: keyspace?.id ?? "", name: keyspace?.name ?? "", prefix: keyspace?.defaultPrefix ?? "" });
const rootKeyRow = (rootKey: RootKey | undefined) => ({
  id: rootKey?.id ?? "",
  name: rootKey?.name ?? "",
  start: rootKey?.start ?? "",
  permissions: rootKey?.permissions.join(" ") ?? "",
  keyspaces: rootKey?.keyspaceIds.join(" ") || "all",
});

function table(rows: Record<string, string>[]): string {
  if (rows.length === 0) return "(none)";
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join("  ")
      .trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...rows.map((row) => line(columns.map((column) => row[column] ?? "")))].join("\n");
}

function integer(value: string | undefined, option: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${option} takes a whole number, not ${value}`);
  return BigInt(value);
}

const required = (value: string | undefined, what: string) => {
  if (!value) throw new UsageError(`${what} is required`);
  return value;
};

async function runCommand(words: string[], values: Values, env: NodeJS.ProcessEnv, print: (text: string) => void): Promise<Answer | undefined> {
  const profilePath = defaultProfilePath(env);
  const profile = readProfile(profilePath);
  const url = values.url ?? env.LATCHKEY_URL ?? profile.url ?? "http://127.0.0.1:8080";
  const rootKey = env.LATCHKEY_ROOT_KEY ?? profile.rootKey ?? "";
  const client = (secret = rootKey) => createLatchkeyClient({ baseUrl: url, rootKey: secret, transport: "connect" });
  const [noun, verb, target] = words;
  const command = [noun, verb].filter(Boolean).join(" ");
  const id = () => required(target, `the id after ${command}`);

  switch (noun === "verify" || noun === "audit" || (noun === "analytics" && verb !== "usage") ? noun : command) {
    case "profile save": {
      if (!rootKey) throw new UsageError("LATCHKEY_ROOT_KEY is not set: there is nothing to save");
      saveProfile(profilePath, { url, rootKey });
      print(`saved the address and root key to ${profilePath} (mode 0600)`);
      return undefined;
    }
    case "workspace create": {
      const adminToken = required(env.LATCHKEY_ADMIN_TOKEN, "LATCHKEY_ADMIN_TOKEN (the deployment's ADMIN_TOKEN)");
      const answer = await client(adminToken).workspaces.createWorkspace({ workspace: { name: required(values.name, "--name") } });
      return { message: answer, rows: [{ workspace: answer.workspace?.id ?? "", rootKey: answer.rootKey?.id ?? "", secret: answer.rootKeySecret }] };
    }
    case "keyspace create": {
      const answer = await client().keyspaces.createKeyspace({ keyspace: { name: required(values.name, "--name"), defaultPrefix: values.prefix ?? "" } });
      return { message: answer, rows: [keyspaceRow(answer.keyspace)] };
    }
    case "keyspace list": {
      const latchkey = client();
      const listed: Keyspace[] = [];
      for await (const keyspace of pages(
        (request) => latchkey.keyspaces.listKeyspaces(request),
        {},
        (page) => page.keyspaces,
      ))
        listed.push(keyspace);
      return { message: create(ListKeyspacesResponseSchema, { keyspaces: listed }), rows: listed.map(keyspaceRow) };
    }
    case "keyspace get": {
      const answer = await client().keyspaces.getKeyspace({ id: id() });
      return { message: answer, rows: [keyspaceRow(answer.keyspace)] };
    }
    case "key create": {
      const expires = values.expires === undefined ? undefined : new Date(values.expires);
      if (expires && Number.isNaN(expires.getTime())) throw new UsageError(`--expires takes a time such as 2030-01-31T00:00:00Z, not ${values.expires}`);
      const credits = integer(values.credits, "credits");
      const answer = await client().keys.createKey({
        key: {
          keyspaceId: required(values.keyspace?.[0], "--keyspace"),
          name: values.name ?? "",
          permissions: values.permission ?? [],
          credits: credits === undefined ? undefined : { remaining: credits },
          expiresAt: expires ? timestampFromDate(expires) : undefined,
        },
      });
      return { message: answer, rows: [{ ...keyRow(answer.key), secret: answer.secret }] };
    }
    case "key list": {
      const latchkey = client();
      const keyspaceId = required(values.keyspace?.[0], "--keyspace");
      const listed: Key[] = [];
      for await (const key of pages(
        (request) => latchkey.keys.listKeys(request),
        { keyspaceId },
        (page) => page.keys,
      ))
        listed.push(key);
      return { message: create(ListKeysResponseSchema, { keys: listed }), rows: listed.map(keyRow) };
    }
    case "key get": {
      const answer = await client().keys.getKey({ id: id() });
      return { message: answer, rows: [keyRow(answer.key)] };
    }
    case "key update": {
      const paths: string[] = [];
      if (values.name !== undefined) paths.push("name");
      if (values.enabled !== undefined) {
        if (!["true", "false"].includes(values.enabled)) throw new UsageError("--enabled takes true or false");
        paths.push("enabled");
      }
      if (paths.length === 0) throw new UsageError("key update needs --name or --enabled");
      const answer = await client().keys.updateKey({ key: { id: id(), name: values.name ?? "", enabled: values.enabled === "true" }, updateMask: { paths } });
      return { message: answer, rows: [keyRow(answer.key)] };
    }
    case "key revoke": {
      const answer = await client().keys.revokeKey({ id: id(), reason: values.reason ?? "" });
      return { message: answer, rows: [keyRow(answer.key)] };
    }
    case "key reroll": {
      const answer = await client().keys.rerollKey({ id: id(), gracePeriodMs: integer(values["grace-ms"], "grace-ms") ?? 0n });
      return { message: answer, rows: [{ ...keyRow(answer.key), secret: answer.secret }] };
    }
    case "key credits": {
      const given = (["set", "add", "subtract"] as const).filter((option) => values[option] !== undefined);
      if (given.length !== 1) throw new UsageError("key credits takes one of --set, --add or --subtract");
      const option = given[0]!;
      const operation = { set: CreditOperation.SET, add: CreditOperation.INCREMENT, subtract: CreditOperation.DECREMENT }[option];
      const answer = await client().keys.updateCredits({ keyId: id(), operation, value: integer(values[option], option) });
      return { message: answer, rows: [keyRow(answer.key)] };
    }
    case "verify": {
      const secret = required(verb, "the secret after verify");
      const answer = await client().verify.verifyKey({ key: secret, permissionQuery: values["permission-query"] ?? "" });
      const credits = answer.creditsRemaining === undefined ? "unlimited" : String(answer.creditsRemaining);
      return {
        message: answer,
        rows: [{ valid: String(answer.valid), code: VerifyCode[answer.code], key: answer.keyId, credits }],
        exitCode: answer.valid ? EXIT.ok : EXIT.notValid,
      };
    }
    case "root-key create": {
      const answer = await client().rootKeys.createRootKey({
        rootKey: { name: required(values.name, "--name"), permissions: values.permission ?? [], keyspaceIds: values.keyspace ?? [] },
      });
      return { message: answer, rows: [{ ...rootKeyRow(answer.rootKey), secret: answer.secret }] };
    }
    case "root-key list": {
      const latchkey = client();
      const listed: RootKey[] = [];
      for await (const rootKey of pages(
        (request) => latchkey.rootKeys.listRootKeys(request),
        {},
        (page) => page.rootKeys,
      ))
        listed.push(rootKey);
      return { message: create(ListRootKeysResponseSchema, { rootKeys: listed }), rows: listed.map(rootKeyRow) };
    }
    case "root-key revoke": {
      const answer = await client().rootKeys.revokeRootKey({ id: id() });
      return { message: answer, rows: [rootKeyRow(answer.rootKey)] };
    }
    case "audit": {
      const limit = Number(integer(values.limit, "limit") ?? 20n);
      const answer = await client().audit.listAuditEvents({ action: values.action ?? "", pageSize: Math.min(limit, 100) });
      const events = answer.events.slice(0, limit);
      return {
        message: create(ListAuditEventsResponseSchema, { events }),
        rows: events.map((event) => ({
          time: time(event.time),
          actor: event.actor,
          action: event.action,
          targets: event.targetIds.join(" "),
          outcome: event.outcome,
        })),
      };
    }
    case "analytics": {
      const days = Number(integer(values.days, "days") ?? 7n);
      if (days < 1 || days > 366) throw new UsageError("--days must be from 1 to 366");
      const latchkey = client();
      const request = {
        startTime: timestampFromDate(new Date(Date.now() - days * 86_400_000)),
        granularity: Granularity.DAY,
        keyspaceId: values.keyspace?.[0] ?? "",
      };
      const buckets: VerificationBucket[] = [];
      for await (const bucket of pages(
        (page) => latchkey.analytics.getVerifications(page),
        request,
        (page) => page.buckets,
      ))
        buckets.push(bucket);
      return { message: create(GetVerificationsResponseSchema, { buckets }), rows: buckets.map(usageRow) };
    }
    case "analytics usage": {
      const answer = await client().analytics.getKeyUsage({ keyId: id() });
      return { message: answer, rows: answer.days.map(usageRow) };
    }
    default:
      throw new UsageError(words.length ? `unknown command: ${words.join(" ")}` : "no command given");
  }
}

const EXIT_BY_CODE: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: EXIT.usage,
  [Code.Unauthenticated]: EXIT.auth,
  [Code.PermissionDenied]: EXIT.auth,
  [Code.NotFound]: EXIT.notFound,
  [Code.Unavailable]: EXIT.unavailable,
  [Code.DeadlineExceeded]: EXIT.unavailable,
};

/** Runs one invocation and returns its exit code; output goes through the given writers. */
async function main(argv: string[], env: NodeJS.ProcessEnv, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    out(USAGE);
    return EXIT.ok;
  }
  try {
    const answer = await runCommand(parsed.positionals, parsed.values, env, out);
    if (answer) {
      const schema = registry.getMessage(answer.message.$typeName)!;
      out(parsed.values.json ? JSON.stringify(toJson(schema, answer.message), null, 2) : table(answer.rows));
    }
    return answer?.exitCode ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`${error.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    const connectError = ConnectError.from(error);
    const { reason } = LatchkeyError.from(error);
    err(`${Code[connectError.code]}${reason ? ` (${reason})` : ""}: ${connectError.rawMessage}`);
    return EXIT_BY_CODE[connectError.code] ?? EXIT.refused;
  }
}

process.exitCode = await main(
  process.argv.slice(2),
  process.env,
  (text) => process.stdout.write(`${text}\n`),
  (text) => process.stderr.write(`${text}\n`),
);
