import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
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

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "latchkey-go-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

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

describe("the protos for other languages", () => {
  it("every latchkey file names its Go, Java, C#, PHP, Ruby and Objective-C packages", () => {
    for (const file of FILES) {
      expect(file.proto.options, file.name).toMatchObject({
        goPackage: "github.com/latchkey/latchkey/gen/go/latchkey/v1;latchkeyv1",
        javaPackage: "dev.latchkey.v1",
        javaMultipleFiles: true,
        csharpNamespace: "Latchkey.V1",
        phpNamespace: "Latchkey\\V1",
        rubyPackage: "Latchkey::V1",
        objcClassPrefix: "LKX",
      });
    }
  });

  it("protoc-gen-go generates a package from them through buf", async () => {
    // Installed by the test itself (from the Go module proxy), as the MongoDB harness fetches its server.
    await run("go", ["install", "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6"], { env: { ...process.env, GOBIN: work } });
    const template = JSON.stringify({
      version: "v2",
      plugins: [{ local: join(work, "protoc-gen-go"), out: join(work, "out"), opt: ["paths=source_relative"] }],
    });
    await run("npx", ["buf", "generate", "--template", template, "--path", "proto/latchkey"], { cwd: root });
    const generated = readdirSync(join(work, "out", "latchkey", "v1")).sort();
    expect(generated).toEqual(FILES.map((file) => `${file.name.split("/").at(-1)}.pb.go`).sort());
    expect(readFileSync(join(work, "out", "latchkey", "v1", "key.pb.go"), "utf8")).toContain("package latchkeyv1");
  }, 180_000);
});
