import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { file_latchkey_v1_analytics } from "../../gen/latchkey/v1/analytics_pb.js";
import { file_latchkey_v1_audit } from "../../gen/latchkey/v1/audit_pb.js";
import { file_latchkey_v1_errors } from "../../gen/latchkey/v1/errors_pb.js";
import { file_latchkey_v1_identity } from "../../gen/latchkey/v1/identity_pb.js";
import { file_latchkey_v1_key } from "../../gen/latchkey/v1/key_pb.js";
import { file_latchkey_v1_keyspace } from "../../gen/latchkey/v1/keyspace_pb.js";
import { file_latchkey_v1_rbac } from "../../gen/latchkey/v1/rbac_pb.js";
import { file_latchkey_v1_root_key } from "../../gen/latchkey/v1/root_key_pb.js";
import { file_latchkey_v1_verify } from "../../gen/latchkey/v1/verify_pb.js";
import { file_latchkey_v1_workspace } from "../../gen/latchkey/v1/workspace_pb.js";
import { clients } from "../support/api.js";
import { repositoryRoot as root } from "../support/client-package.js";
import { docBlocks } from "../support/doc-blocks.js";
import { GO_BIN, GO_INSTALL_TIMEOUT_MS, goTool } from "../support/go-tools.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The Go recipe (docs/recipes/go.md) end to end: the committed stubs in clients/go are what
 * buf.gen.go.yaml generates, and the recipe's program, built in a module of its own, verifies a key
 * and reads an error's reason against a started service.
 */
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "latchkey-go-"));
let server: TestServer;
let secret: string;

beforeAll(async () => {
  server = await startTestServer();
  const { keyspaces, keys } = clients(createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [server.auth] }));
  const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "go recipe" } });
  ({ secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id, permissions: ["documents.read"], credits: { remaining: 1000n } } }));
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

const FILES = [
  file_latchkey_v1_analytics,
  file_latchkey_v1_audit,
  file_latchkey_v1_errors,
  file_latchkey_v1_identity,
  file_latchkey_v1_key,
  file_latchkey_v1_keyspace,
  file_latchkey_v1_rbac,
  file_latchkey_v1_root_key,
  file_latchkey_v1_verify,
  file_latchkey_v1_workspace,
];

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".go"))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();

describe("the protos for other languages", () => {
  it("every latchkey file names its Go package in clients/go, and its Java, C#, PHP, Ruby and Objective-C packages", () => {
    for (const file of FILES) {
      expect(file.proto.options, file.name).toMatchObject({
        goPackage: "github.com/latchkey/latchkey/clients/go/latchkey/v1;latchkeyv1",
        javaPackage: "dev.latchkey.v1",
        javaMultipleFiles: true,
        csharpNamespace: "Latchkey.V1",
        phpNamespace: "Latchkey\\V1",
        rubyPackage: "Latchkey::V1",
        objcClassPrefix: "LKX",
      });
    }
    expect(readFileSync(join(root, "clients/go/go.mod"), "utf8")).toMatch(/^module github.com\/latchkey\/latchkey\/clients\/go$/m);
  });

  it(
    "the committed Go stubs are what buf.gen.go.yaml generates",
    async () => {
      // Installed by the test itself (from the Go module proxy) when missing, as the recipe says.
      await goTool("protoc-gen-go", "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6");
      await goTool("protoc-gen-go-grpc", "google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1");
      const out = join(work, "generated");
      await run("npx", ["buf", "generate", "--template", "buf.gen.go.yaml", "-o", out], {
        cwd: root,
        env: { ...process.env, PATH: `${GO_BIN}:${process.env.PATH}` },
      });
      const committed = join(root, "clients/go");
      const generated = filesUnder(join(out, "clients/go"));
      expect(generated).toEqual(filesUnder(committed).filter((file) => !file.startsWith("example")));
      expect(generated).toContain("buf/validate/validate.pb.go");
      for (const file of generated) expect(readFileSync(join(out, "clients/go", file), "utf8"), file).toBe(readFileSync(join(committed, file), "utf8"));
    },
    GO_INSTALL_TIMEOUT_MS,
  );

  it(
    "the Go recipe's program, in a module of its own, verifies a key and reads an error's reason from its ErrorInfo",
    async () => {
      const [setup, program, build] = [
        docBlocks("docs/recipes/go.md", "sh")[0]!,
        docBlocks("docs/recipes/go.md", "go")[0]!,
        docBlocks("docs/recipes/go.md", "sh")[1]!,
      ];
      const module = join(work, "verifier");
      await run("mkdir", ["-p", module]);
      writeFileSync(join(module, "main.go"), program);
      await run("bash", ["-c", `set -euo pipefail\n${setup.replace("/path/to/latchkey/", root)}`], { cwd: module });
      const env = { ...process.env, ROOT_KEY: server.rootKey, KEY: secret };
      const { stdout } = await run("bash", ["-c", `set -euo pipefail\n${build.replace("127.0.0.1:50051", server.grpcUrl.replace("http://", ""))}`], {
        cwd: module,
        env,
        timeout: GO_INSTALL_TIMEOUT_MS,
      });
      expect(stdout.trim().split("\n")).toEqual(["VERIFY_CODE_VALID 999", "NotFound RESOURCE_NOT_FOUND key"]);
    },
    GO_INSTALL_TIMEOUT_MS,
  );
});
