import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import * as clientPackage from "../../packages/client/src/index.js";
import { API_SERVICE_TABLE, API_SERVICES } from "../../src/app/api-services.js";
import { HEALTH_REPORTED_SERVICES } from "../../src/app/services.js";
import { testApi } from "../support/api.js";

const generated = join(import.meta.dirname, "../../gen/latchkey/v1");

/** Every service latchkey's protos declare, read from the generated code rather than from any list of ours. */
async function declaredServices(): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(generated).filter((name) => name.endsWith("_pb.ts"))) {
    const module = (await import(join(generated, file))) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if ((value as Partial<DescService>)?.kind === "service") names.push((value as DescService).typeName);
    }
  }
  return names.sort();
}

describe("the table of services", () => {
  it("holds every service the protos declare, so a new service cannot be left out of the server or the client package", async () => {
    expect(API_SERVICES.map((service) => service.typeName).sort()).toEqual(await declaredServices());
  });

  it("is what the client package builds its clients from and exports the descriptors of", () => {
    const transport = createRouterTransport(() => {});
    const clients = clientPackage.latchkeyClients(transport);
    expect(Object.keys(clients).sort()).toEqual(Object.keys(API_SERVICE_TABLE).sort());
    for (const service of API_SERVICES) expect((clientPackage as Record<string, unknown>)[service.name]).toBe(service);
  });

  it("is what the server serves, each service behind its handlers, and reports health for", async () => {
    const api = testApi();
    await api.workspace();
    for (const service of API_SERVICES) {
      const method = service.methods.find((candidate) => candidate.methodKind === "unary")!;
      const call = (createClient(service, api.transport) as Record<string, (request: object) => Promise<unknown>>)[method.localName]!;
      const code = await call({}).then(
        () => undefined,
        (error: unknown) => ConnectError.from(error).code,
      );
      expect(code, `${service.typeName}/${method.name}`).not.toBe(Code.Unimplemented);
      expect(HEALTH_REPORTED_SERVICES).toContain(service);
    }
  });
});
