import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { RatelimitService } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { repositoryRoot } from "../support/client-package.js";
import { docBlocks } from "../support/doc-blocks.js";
import { startTestServer, type TestServer } from "../support/server.js";

const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** The JSON documents `buf curl` printed one after another, each pretty-printed over several lines. */
function documents(output: string): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < output.length; i++) {
    const char = output[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{" && depth++ === 0) start = i;
    else if (char === "}" && --depth === 0) found.push(JSON.parse(output.slice(start, i + 1)) as Record<string, unknown>);
  }
  return found;
}

describe("docs/ratelimit.md", () => {
  it("runs every buf curl example, in order, and each answers as the page says", async () => {
    const transport = createGrpcTransport({ baseUrl: server.grpcUrl, interceptors: [server.auth] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "docs" } });
    const script = docBlocks("docs/ratelimit.md", "sh").join("\n").replaceAll("npx buf curl", `"${buf}" curl`).replaceAll("http://127.0.0.1:8080", server.url);
    const { stdout } = await promisify(execFile)("bash", ["-c", `set -euo pipefail\n${script}`], {
      cwd: repositoryRoot,
      env: { ...process.env, ROOT_KEY: server.rootKey, KEYSPACE_ID: keyspace!.id },
      timeout: 60_000,
    });
    const [limit, multiLimit, staff, ops, listed, deleted, namespaces, namespaceDeleted, key, ...rest] = documents(stdout);
    expect(rest).toEqual([]);
    expect(limit).toMatchObject({ success: true, limit: "5", remaining: "4", durationMs: "60000" });
    expect(typeof limit!.resetAt).toBe("string");
    expect(multiLimit).toMatchObject({ success: true });
    expect(staff).toMatchObject({ override: { namespace: "logins", identifier: "*@example.com", limit: "50" } });
    expect(ops).toMatchObject({ override: { namespace: "logins", identifier: "ops@example.com", limit: "500" } });
    expect((listed!.overrides as { identifier: string }[]).map((override) => override.identifier).sort()).toEqual(["*@example.com", "ops@example.com"]);
    expect(deleted).toEqual({});
    expect((namespaces!.namespaces as { name: string }[]).map((namespace) => namespace.name).sort()).toEqual(["api", "exports", "logins"]);
    expect(namespaceDeleted).toEqual({});
    expect(key).toMatchObject({ key: { rateLimits: [{ name: "api", limit: "100", algorithm: "RATE_LIMIT_ALGORITHM_SLIDING_WINDOW" }] } });

    const after = await createClient(RatelimitService, transport).listNamespaces({});
    expect(after.namespaces.map((namespace) => namespace.name).sort()).toEqual(["api", "exports"]);
  }, 90_000);
});
