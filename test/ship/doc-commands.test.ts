import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { createRegistry, type DescMethod, fromJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { file_health_v1_health } from "../../gen/health/v1/health_pb.js";
import { file_latchkey_v1_analytics } from "../../gen/latchkey/v1/analytics_pb.js";
import { file_latchkey_v1_audit } from "../../gen/latchkey/v1/audit_pb.js";
import { file_latchkey_v1_identity } from "../../gen/latchkey/v1/identity_pb.js";
import { file_latchkey_v1_key } from "../../gen/latchkey/v1/key_pb.js";
import { file_latchkey_v1_keyspace } from "../../gen/latchkey/v1/keyspace_pb.js";
import { file_latchkey_v1_ratelimit } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { file_latchkey_v1_rbac } from "../../gen/latchkey/v1/rbac_pb.js";
import { file_latchkey_v1_root_key } from "../../gen/latchkey/v1/root_key_pb.js";
import { file_latchkey_v1_verify } from "../../gen/latchkey/v1/verify_pb.js";
import { file_latchkey_v1_workspace } from "../../gen/latchkey/v1/workspace_pb.js";
import { repositoryRoot } from "../support/client-package.js";
import { docBlocks } from "../support/doc-blocks.js";

/**
 * Every shell block of the README and docs/, checked without a running service: readme.test runs
 * the quick start and docs/using-the-api.md, and the recipes and the CLI page have tests of their
 * own, but a command on any other page must still be one a reader can paste. So each block is valid
 * bash, and each `buf curl`, `curl` or grpcurl call names an RPC the API has, with a JSON body that
 * parses as that RPC's request (shell variables standing for any string): a renamed field or RPC
 * fails here.
 */
const registry = createRegistry(
  file_health_v1_health,
  file_latchkey_v1_analytics,
  file_latchkey_v1_audit,
  file_latchkey_v1_identity,
  file_latchkey_v1_key,
  file_latchkey_v1_keyspace,
  file_latchkey_v1_ratelimit,
  file_latchkey_v1_rbac,
  file_latchkey_v1_root_key,
  file_latchkey_v1_verify,
  file_latchkey_v1_workspace,
);

const markdown = [
  "README.md",
  "CONTRIBUTING.md",
  ...readdirSync(`${repositoryRoot}docs`, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".md"))
    .map((path) => `docs/${path}`)
    .sort(),
];
/** docs/reference is generated from the protos, and holds no commands. */
const pages = markdown.filter((page) => !page.startsWith("docs/reference/"));
const blocks = pages.flatMap((page) => docBlocks(page, "sh").map((block, index) => ({ page, index, block })));

interface Call {
  page: string;
  procedure: string;
  body: string | undefined;
}

const TOOL = /(?:npx buf curl|\bbuf curl|\bgrpcurl|\bcurl)\b/g;
const PROCEDURE = /(?:^|[\s/])((?:latchkey\.v1|grpc\.health\.v1)\.\w+)\/(\w+)/;

/**
 * The JSON a command sends: one shell word after `-d`, of '…', "…" (shell-escaped) and `$VAR`
 * pieces side by side, or `-d @-` with a heredoc; `$VAR` stands for any string.
 */
function bodyOf(command: string): string | undefined {
  const word = /-d ((?:'[^']*'|"(?:[^"\\]|\\.)*"|\$\{?[A-Z_]+\}?)+)/.exec(command)?.[1];
  const pieces = word?.match(/'[^']*'|"(?:[^"\\]|\\.)*"|\$\{?[A-Z_]+\}?/g);
  const body =
    pieces?.map((piece) => (piece.startsWith("'") ? piece.slice(1, -1) : piece.startsWith('"') ? piece.slice(1, -1).replaceAll('\\"', '"') : piece)).join("") ??
    /-d @-[\s\S]*?<<EOF\n([\s\S]*?)\nEOF/.exec(command)?.[1];
  return body?.replace(/\$\{?[A-Z_]+\}?/g, "x");
}

const calls: Call[] = blocks.flatMap(({ page, block }) => {
  const starts = [...block.matchAll(TOOL)].map((match) => match.index);
  return starts.flatMap((start, index) => {
    const command = block.slice(start, starts[index + 1] ?? block.length);
    const procedure = PROCEDURE.exec(command);
    return procedure ? [{ page, procedure: `${procedure[1]}/${procedure[2]}`, body: bodyOf(command) }] : [];
  });
});

const methodOf = (procedure: string): DescMethod | undefined => {
  const [service, method] = procedure.split("/");
  const descriptor = registry.getService(service!);
  return descriptor?.methods.find((candidate) => candidate.name === method);
};

describe("the shell commands of the README and docs/", () => {
  it("are found on the pages that hold them, calls included", () => {
    expect([...new Set(blocks.map(({ page }) => page))]).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/analytics.md",
        "docs/cli.md",
        "docs/errors.md",
        "docs/ratelimit.md",
        "docs/recipes/browser.md",
        "docs/recipes/go.md",
        "docs/recipes/python.md",
        "docs/using-the-api.md",
      ]),
    );
    expect(calls.map(({ procedure }) => procedure)).toEqual(
      expect.arrayContaining([
        "latchkey.v1.KeyService/CreateKey",
        "latchkey.v1.AnalyticsService/GetVerifications",
        "latchkey.v1.RatelimitService/MultiLimit",
        "grpc.health.v1.Health/Check",
      ]),
    );
  });

  it.each(blocks.map(({ page, index, block }) => [`${page} block ${index + 1}`, block] as const))("%s is valid bash", (_name, block) => {
    const check = spawnSync("bash", ["-n"], { input: block, encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it.each(calls.map((call) => [`${call.page}: ${call.procedure}`, call] as const))(
    "%s names an RPC of the API, and its body parses as the request",
    (_name, call) => {
      const method = methodOf(call.procedure);
      expect(method, call.procedure).toBeDefined();
      if (call.body !== undefined) expect(() => fromJsonString(method!.input, call.body!, { registry })).not.toThrow();
    },
  );
});

/** A page's text outside its fenced code blocks. */
const prose = (page: string) => readFileSync(`${repositoryRoot}${page}`, "utf8").replace(/```[\s\S]*?```/g, "");
/** The anchor GitHub gives a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replaceAll(" ", "-");
const anchorsOf = (page: string) => new Set([...prose(page).matchAll(/^#+ (.*)$/gm)].map((match) => slug(match[1]!)));

describe("the links of the README, CONTRIBUTING.md and docs/", () => {
  it.each(markdown)("%s links only to files and headings that exist", (page) => {
    const broken = [...prose(page).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => {
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const file = path ? normalize(join(dirname(page), path)) : page;
        if (!existsSync(`${repositoryRoot}${file}`)) return true;
        return anchor !== undefined && file.endsWith(".md") && !anchorsOf(file).has(anchor);
      });
    expect(broken).toEqual([]);
  });
});
