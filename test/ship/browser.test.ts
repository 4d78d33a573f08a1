import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createConnectTransport } from "@connectrpc/connect-node";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clients } from "../support/api.js";
import { findChromium, TestChromium } from "../support/chromium.js";
import { docBlocks } from "../support/doc-blocks.js";
import { installClientPackage } from "../support/client-package.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The client package in headless Chromium: a page served from one origin calls latchkey's HTTP/1.1
 * listener on another, through CORS, with a root key narrowed to key.verify in one keyspace, as
 * the README tells a browser to hold.
 */
const page = `
import { createLatchkeyClient, LatchkeyError, VerifyCode } from "@latchkey/client/web";

globalThis.verifyFromPage = async ({ baseUrl, rootKey, secret, keyspaceId, transport, binary }) => {
  const latchkey = createLatchkeyClient({ baseUrl, rootKey, transport, binary });
  const attempt = (call) => call().then(() => "allowed", (error) => { const refused = LatchkeyError.from(error); return refused.reason ?? refused.message; });
  try {
    const verified = await latchkey.verify.verifyKey({ key: secret });
    return { code: VerifyCode[verified.code], creditsRemaining: String(verified.creditsRemaining), listing: await attempt(() => latchkey.keys.listKeys({ keyspaceId })) };
  } catch (error) {
    return { failed: LatchkeyError.from(error).message };
  }
};
`;

let server: TestServer;
let consumer: Awaited<ReturnType<typeof installClientPackage>>;
let browser: TestChromium;
let allowedSite: Server;
let otherSite: Server;
let verifier: { rootKey: string; secret: string; keyspaceId: string };
const RECIPE = "docs/recipes/browser.md";
let recipeBundle = "";

/** A static site: one page that loads the bundle, and the browser recipe's page under /recipe/. */
async function serveSite(bundle: string): Promise<Server> {
  const site = createServer((request, response) => {
    if (request.url === "/page.js") response.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    else if (request.url === "/recipe/page.bundle.js") response.writeHead(200, { "content-type": "text/javascript" }).end(recipeBundle);
    else if (request.url === "/recipe/") response.writeHead(200, { "content-type": "text/html" }).end(docBlocks(RECIPE, "html")[0]);
    else response.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><title>verifier</title><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((listening) => site.listen(0, "127.0.0.1", listening));
  return site;
}

const originOf = (site: Server) => `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

beforeAll(async () => {
  const [executablePath, installed] = await Promise.all([findChromium(console.log), installClientPackage({ "@connectrpc/connect-web": "2.1.1" })]);
  consumer = installed;
  writeFileSync(join(consumer.dir, "page.js"), page);
  const bundled = await build({
    entryPoints: [join(consumer.dir, "page.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  const bundle = bundled.outputFiles[0]!.text;
  [allowedSite, otherSite] = await Promise.all([serveSite(bundle), serveSite(bundle)]);
  server = await startTestServer({ corsAllowedOrigins: [originOf(allowedSite)] });
  const api = clients(createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [server.auth] }));
  const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "browser" } });
  const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace!.id, credits: { remaining: 100n } } });
  const narrowed = await api.rootKeys.createRootKey({ rootKey: { name: "web verifier", permissions: ["key.verify"], keyspaceIds: [keyspace!.id] } });
  verifier = { rootKey: narrowed.secret, secret, keyspaceId: keyspace!.id };
  // The recipe's page as written, bundled as its esbuild command does, pointed at this server and its narrowed root key.
  const recipePage = docBlocks(RECIPE, "js")[0]!.replace("http://127.0.0.1:8081", server.http1Url).replace("ROOT_KEY_FOR_THE_BROWSER", narrowed.secret);
  writeFileSync(join(consumer.dir, "recipe-page.js"), recipePage);
  const recipeBuilt = await build({ entryPoints: [join(consumer.dir, "recipe-page.js")], bundle: true, format: "esm", write: false, logLevel: "silent" });
  recipeBundle = recipeBuilt.outputFiles[0]!.text;
  browser = await TestChromium.launch(executablePath);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  allowedSite?.close();
  otherSite?.close();
  await server?.stop();
  consumer?.remove();
});

const verifyFrom = (site: Server, transport: "connect" | "grpc-web", binary: boolean) => browser.steps(() => verifiedFrom(site, transport, binary));

async function verifiedFrom(site: Server, transport: "connect" | "grpc-web", binary: boolean) {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${originOf(site)}/`);
    await tab.waitForFunction(() => "verifyFromPage" in globalThis);
    return await tab.evaluate((options) => (globalThis as unknown as { verifyFromPage(o: unknown): Promise<unknown> }).verifyFromPage(options), {
      ...verifier,
      baseUrl: server.http1Url,
      transport,
      binary,
    });
  } finally {
    await tab.close();
  }
}

describe("the client package in a browser", () => {
  it.each([
    ["Connect JSON", "connect", false],
    ["Connect binary", "connect", true],
    ["gRPC-Web", "grpc-web", true],
  ] as const)("verifies a key from a page of an allowed origin over %s, and its narrowed root key may do nothing else", async (_, transport, binary) => {
    const answer = await verifyFrom(allowedSite, transport, binary);
    expect(answer).toEqual({ code: "VALID", creditsRemaining: expect.stringMatching(/^9\d$/), listing: "PERMISSION_MISSING" });
  });

  it("cannot call latchkey from a page of an origin CORS_ALLOWED_ORIGINS leaves out: the browser refuses", async () => {
    const answer = await verifyFrom(otherSite, "connect", false);
    expect(answer).toEqual({ failed: expect.stringMatching(/fetch/i) });
  });

  it("the browser recipe's page, bundled as written, shows a verdict and the request id its script read through CORS, and an error's reason", () =>
    browser.steps(async () => {
      const tab = await browser.newPage();
      try {
        await tab.goto(`${originOf(allowedSite)}/recipe/`);
        const verifyTyped = async (key: string) => {
          await tab.fill("input[name=key]", key);
          await tab.evaluate(() => (document.querySelector("output")!.textContent = ""));
          await tab.click("button");
          await tab.waitForFunction(() => document.querySelector("output")!.textContent !== "");
          return tab.textContent("output");
        };
        expect(await verifyTyped(verifier.secret)).toMatch(/^VALID, request [\w.-]+$/);
        expect(await verifyTyped("")).toMatch(/^refused: INVALID_FIELD, request [\w.-]+$/);
      } finally {
        await tab.close();
      }
    }));
});
