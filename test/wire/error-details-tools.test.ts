import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { GO_INSTALL_TIMEOUT_MS, goTool } from "../support/go-tools.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * buf curl and grpcurl, with no proto files at hand, show the details of latchkey's errors decoded:
 * reason, metadata and field violations. grpcurl decodes them with the types reflection serves
 * (google.rpc's detail types and latchkey's catalogue of reasons, which no service imports).
 */
const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const run = promisify(execFile);

let server: TestServer;
let grpcurl: string;
beforeAll(async () => {
  [server, grpcurl] = await Promise.all([startTestServer(), goTool("grpcurl", "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3")]);
}, GO_INSTALL_TIMEOUT_MS + 60_000);
afterAll(() => server?.stop());

/** The tool's output when the call fails (both print the status to stderr), or its answer. */
async function failing(command: string, args: string[]) {
  const outcome = await run(command, args, { cwd: "/", timeout: 30_000 }).catch((error: { code: number; stdout: string; stderr: string }) => error);
  return { ...outcome, output: `${outcome.stdout}${outcome.stderr}` };
}

const hostOf = (url: string) => url.replace(/^http:\/\//, "");

/** A latchkey.v1 procedure called with the root key by buf curl in the Connect protocol: its output and the status it printed. */
async function bufCurl(procedure: string, body: object) {
  const { output } = await failing(buf, [
    "curl",
    "--protocol",
    "connect",
    "--http2-prior-knowledge",
    "-H",
    `Authorization: Bearer ${server.rootKey}`,
    "-d",
    JSON.stringify(body),
    `${server.url}/latchkey.v1.${procedure}`,
  ]);
  return { output, status: JSON.parse(output.slice(output.indexOf("{"))) };
}

/** A latchkey.v1 procedure called with the root key by grpcurl, through reflection, at `url`. */
const grpcurlCall = (url: string, procedure: string, body: object) =>
  failing(grpcurl, ["-plaintext", "-H", `authorization: Bearer ${server.rootKey}`, "-d", JSON.stringify(body), hostOf(url), `latchkey.v1.${procedure}`]);

// buf curl decodes details only in the Connect protocol, where the server sends each detail's JSON
// beside its bytes; over gRPC it prints the bytes, knowing no detail type it was not built with.
describe("buf curl, in the Connect protocol against the Connect router", () => {
  it("buf curl shows a NOT_FOUND's ErrorInfo with its reason and metadata", async () => {
    const missing = newId("key", Date.now());
    const { output, status } = await bufCurl("KeyService/GetKey", { id: missing });
    expect(output).not.toContain("not recognized");
    expect(status).toMatchObject({
      code: "not_found",
      details: [
        {
          type: "google.rpc.ErrorInfo",
          value: expect.any(String),
          debug: { reason: "RESOURCE_NOT_FOUND", domain: "latchkey", metadata: { resource: "key", id: missing } },
        },
      ],
    });
  });

  it("buf curl shows an INVALID_ARGUMENT's BadRequest with every field at fault", async () => {
    const { status } = await bufCurl("KeyService/CreateKey", { key: { keyspaceId: "", name: "x".repeat(300) } });
    const badRequest = status.details.find((detail: { type: string }) => detail.type === "google.rpc.BadRequest");
    expect(status.details.find((detail: { type: string }) => detail.type === "google.rpc.ErrorInfo").debug.reason).toBe("INVALID_FIELD");
    expect(badRequest.debug.fieldViolations.map((violation: { field: string }) => violation.field)).toEqual(expect.arrayContaining(["key.name"]));
  });
});

describe.each([
  ["the Connect router", () => server.url],
  ["the native grpc-js port", () => server.grpcUrl],
])("grpcurl, through reflection, against %s", (_, url) => {
  it("grpcurl shows the same ErrorInfo, reason and metadata", async () => {
    const missing = newId("key", Date.now());
    const { output } = await grpcurlCall(url(), "KeyService/GetKey", { id: missing });
    expect(output).toContain("Code: NotFound");
    expect(output).not.toMatch(/not recognized|base64/i);
    expect(output).toContain('"@type": "type.googleapis.com/google.rpc.ErrorInfo"');
    expect(output).toContain('"reason": "RESOURCE_NOT_FOUND"');
    expect(output).toContain(`"id": "${missing}"`);
  });

  it("grpcurl shows a BadRequest's field violations, and describes the catalogue of reasons", async () => {
    const { output } = await grpcurlCall(url(), "KeyService/CreateKey", { key: { keyspaceId: "", name: "x".repeat(300) } });
    expect(output).toContain("Code: InvalidArgument");
    expect(output).toContain('"@type": "type.googleapis.com/google.rpc.BadRequest"');
    expect(output).toContain('"field": "key.name"');
    const described = await run(grpcurl, ["-plaintext", hostOf(url()), "describe", "latchkey.v1.ErrorReason"], { timeout: 30_000 });
    expect(described.stdout).toContain("ERROR_REASON_PERMISSION_MISSING = 5;");
  });
});
