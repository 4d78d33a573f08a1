import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerifyCode } from "../../gen/latchkey/v1/verify_pb.js";
import { buildConsole } from "../../packages/console/build.js";
import { DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import { clients } from "../support/api.js";
import { findChromium, TestChromium } from "../support/chromium.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The console in headless Chromium, served by the service it manages: signed in with a root key,
 * it creates a keyspace and a key, whose secret verifies through the API and is then counted on
 * the key's chart; it revokes the key; a narrowed root key sees only its keyspace; every page
 * passes axe-core without serious violations and fits 375 px; each page's screenshot is written
 * to test-results/console/.
 */
const SHOTS = fileURLToPath(new URL("../../test-results/console/", import.meta.url));
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** The chart counts a verification once its instance has written the counts: within ANALYTICS_FLUSH_MS (docs/analytics.md). */
const FLUSH_BOUND_MS = DEFAULT_VERIFICATION_OPTIONS.analytics.flushMs;
/** Margin for a loaded machine over each documented bound. */
const MARGIN_MS = 10_000;

let consoleDir: string;
let server: TestServer;
let browser: TestChromium;
let api: ReturnType<typeof clients>;
const cspViolations: string[] = [];

beforeAll(async () => {
  consoleDir = mkdtempSync(join(tmpdir(), "latchkey-console-"));
  mkdirSync(SHOTS, { recursive: true });
  const [executablePath] = await Promise.all([findChromium(console.log), buildConsole(consoleDir)]);
  server = await startTestServer({ consoleDir });
  api = clients(createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [server.auth] }));
  browser = await TestChromium.launch(executablePath);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(consoleDir, { recursive: true, force: true });
});

async function openConsole(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; tab: Page }> {
  const context = await browser.newContext({ viewport });
  const tab = await context.newPage();
  tab.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  tab.on("dialog", (dialog) => void dialog.accept());
  await tab.goto(`${server.http1Url}/console`);
  return { context, tab };
}

async function signIn(tab: Page, rootKey: string) {
  await tab.fill("input[name=root-key]", rootKey);
  await tab.click("button[type=submit]");
  await tab.waitForSelector("nav[aria-label=Console]");
}

async function goTo(tab: Page, label: string) {
  await tab.click(`nav[aria-label=Console] >> text=${label}`);
  await tab.waitForSelector(`h1:has-text("${label === "Roles" ? "Roles and permissions" : label === "Verify" ? "Verify a key" : label}")`);
}

/** axe-core's serious and critical findings on the page as it is now (evaluated through the debugger, which the page's CSP does not govern). */
async function seriousViolations(tab: Page): Promise<string[]> {
  await tab.evaluate(AXE_SOURCE);
  const violations = await tab.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run()).violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      targets: violation.nodes.map((node) => node.target.join(" ")),
    }));
  });
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id}: ${violation.targets.join(", ")}`);
}

/** Polls `check` until it returns something, up to `boundMs`. */
async function within<T>(boundMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("the console in a browser", () => {
  let keyspaceId = "";
  let keyId = "";
  let secret = "";

  it("refuses a revoked root key with the error's reason, signs in with a working one held for the tab only, and forgets it on sign-out", async () => {
    const revoked = await api.rootKeys.createRootKey({ rootKey: { name: "revoked", permissions: ["key.read"] } });
    await api.rootKeys.revokeRootKey({ id: revoked.rootKey!.id });
    await browser.steps(async () => {
      const { context, tab } = await openConsole();
      await tab.screenshot({ path: join(SHOTS, "sign-in.png"), fullPage: true });
      expect(await seriousViolations(tab)).toEqual([]);
      await tab.fill("input[name=root-key]", revoked.secret);
      await tab.click("button[type=submit]");
      expect(await (await tab.waitForSelector("[role=alert]")).textContent()).toMatch(/^ROOT_KEY_REFUSED: /);
      await signIn(tab, server.rootKey);
      expect(await tab.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
      await tab.reload();
      await tab.waitForSelector("nav[aria-label=Console]");
      await tab.click("text=Sign out");
      await tab.waitForSelector("input[name=root-key]");
      expect(await tab.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);
      await context.close();
    });
  });

  it("creates a keyspace and a key through the UI; the secret shown once verifies through the API and is counted on the key's chart", () =>
    browser.steps(async () => {
      const { context, tab } = await openConsole();
      await signIn(tab, server.rootKey);
      await goTo(tab, "Keyspaces");
      await tab.fill("input[name=keyspace-name]", "console made");
      await tab.click("text=Create keyspace");
      await tab.click("a:has-text('console made')");
      await tab.waitForSelector("h1:has-text('Keys of console made')");
      keyspaceId = decodeURIComponent(new URL(tab.url()).hash.split("/")[2]!);
      await tab.fill("input[name=key-name]", "first key");
      await tab.fill("input[name=key-credits]", "10");
      await tab.click("text=Create key");
      secret = (await (await tab.waitForSelector("[data-testid=secret]")).textContent())!;
      await tab.screenshot({ path: join(SHOTS, "keys.png"), fullPage: true });
      expect(await seriousViolations(tab)).toEqual([]);

      const verified = await api.verify.verifyKey({ key: secret });
      expect(verified).toMatchObject({ valid: true, code: VerifyCode.VALID, keyspaceId, creditsRemaining: 9n });
      keyId = verified.keyId;

      await tab.click("a:has-text('first key')");
      await tab.waitForSelector("h1:has-text('first key')");
      const counted = await within(FLUSH_BOUND_MS + MARGIN_MS, async () => {
        await tab.reload();
        const chart = await tab.waitForSelector("[data-testid=outcome-chart]");
        const total = Number(await chart.getAttribute("data-total"));
        return total >= 1 ? total : undefined;
      });
      expect(counted).toBe(1);
      expect(await tab.textContent("[data-testid=outcome-chart] figcaption")).toContain("VALID 1");
      expect(await tab.isVisible("[data-testid=outcome-chart] canvas")).toBe(true);
      await tab.screenshot({ path: join(SHOTS, "key.png"), fullPage: true });
      expect(await seriousViolations(tab)).toEqual([]);
      await context.close();
    }));

  it("revokes the key through the UI, with a reason, and VerifyKey answers REVOKED, through the API and the verify playground", () =>
    browser.steps(async () => {
      const { context, tab } = await openConsole();
      await signIn(tab, server.rootKey);
      await tab.goto(`${server.http1Url}/console/#/keys/${keyId}`);
      await tab.fill("input[name=revoke-reason]", "left the company");
      await tab.click("button:has-text('Revoke key')");
      await tab.waitForSelector("[data-testid=fact-status]:has-text('revoked')");
      expect(await tab.textContent("[data-testid=fact-revoked]")).toContain("left the company");
      await tab.waitForSelector("text=A revoked key can never change again.");
      expect(await tab.locator("button:has-text('Rename'), button:has-text('Reroll secret'), button:has-text('Revoke key')").count()).toBe(0);
      // A revocation reaches every instance's cache within CHANGE_POLL_MS (docs/verification-cache.md).
      const code = await within(DEFAULT_VERIFICATION_OPTIONS.changePollMs + MARGIN_MS, async () => {
        const answer = await api.verify.verifyKey({ key: secret });
        return answer.code === VerifyCode.REVOKED ? answer.code : undefined;
      });
      expect(code).toBe(VerifyCode.REVOKED);
      await goTo(tab, "Verify");
      await tab.fill("input[name=verify-key]", secret);
      await tab.click("button:has-text('Verify')");
      expect(await (await tab.waitForSelector("[data-testid=verdict]")).textContent()).toBe("REVOKED");
      await context.close();
    }));

  it("a root key narrowed to one keyspace sees only that keyspace, and no page it may not read", async () => {
    const { keyspace: other } = await api.keyspaces.createKeyspace({ keyspace: { name: "not yours" } });
    const narrowed = await api.rootKeys.createRootKey({
      rootKey: { name: "narrowed", permissions: ["keyspace.read", "key.read", "analytics.read"], keyspaceIds: [keyspaceId] },
    });
    await browser.steps(async () => {
      const { context, tab } = await openConsole();
      await signIn(tab, narrowed.secret);
      const menu = await tab.textContent("nav[aria-label=Console]");
      expect(menu).toContain("Keyspaces");
      for (const hidden of ["Root keys", "Audit log", "Identities", "Roles"]) expect(menu).not.toContain(hidden);
      await goTo(tab, "Keyspaces");
      await tab.waitForSelector("a:has-text('console made')");
      expect(await tab.textContent("main")).not.toContain(other!.name);
      expect(await tab.isVisible("input[name=keyspace-name]")).toBe(false);
      // The console learned the grants from GetCurrentRootKey: it tried nothing the key may not do.
      expect((await api.audit.listAuditEvents({ actor: narrowed.rootKey!.id })).events).toEqual([]);
      await tab.goto(`${server.http1Url}/console/#/keyspaces/${other!.id}`);
      expect(await (await tab.waitForSelector("[role=alert]")).textContent()).toMatch(/^RESOURCE_NOT_FOUND: /);
      expect(await tab.isVisible("input[name=key-name]")).toBe(false);
      await tab.screenshot({ path: join(SHOTS, "narrowed.png"), fullPage: true });
      await context.close();
    });
  });

  it("every page passes axe-core without serious violations, fits 375 px, and is screenshotted wide and narrow", async () => {
    await api.identities.createIdentity({ identity: { externalId: "customer-1" } });
    await api.rbac.createRole({ role: { name: "reader", permissions: ["documents.read"] } });
    await api.ratelimits.setOverride({ override: { namespace: "email", identifier: "customer-1", limit: 10n, durationMs: 60_000n } });
    await browser.steps(async () => {
      for (const viewport of [
        { width: 1280, height: 900 },
        { width: 375, height: 800 },
      ]) {
        const { context, tab } = await openConsole(viewport);
        await signIn(tab, server.rootKey);
        for (const [label, file] of [
          ["Overview", "overview"],
          ["Keyspaces", "keyspaces"],
          ["Identities", "identities"],
          ["Roles", "roles"],
          ["Root keys", "root-keys"],
          ["Rate limits", "ratelimits"],
          ["Audit log", "audit"],
          ["Verify", "verify"],
        ] as const) {
          await goTo(tab, label);
          await tab.waitForLoadState("networkidle");
          const shot = join(SHOTS, `${file}-${viewport.width}.png`);
          await tab.screenshot({ path: shot, fullPage: true });
          expect(await seriousViolations(tab), `${label} at ${viewport.width} px`).toEqual([]);
          const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${label} at ${viewport.width} px is wider than the screen`).toBeLessThanOrEqual(0);
        }
        await tab.goto(`${server.http1Url}/console/#/keys/${keyId}`);
        await tab.waitForSelector("[data-testid=outcome-chart]");
        await tab.screenshot({ path: join(SHOTS, `key-${viewport.width}.png`), fullPage: true });
        expect(await seriousViolations(tab)).toEqual([]);
        await context.close();
      }
    });
  }, 180_000);

  it("can be used with the keyboard alone: sign in, skip to the content, move between pages", () =>
    browser.steps(async () => {
      const { context, tab } = await openConsole();
      await tab.keyboard.press("Tab");
      expect(await tab.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("root-key");
      await tab.keyboard.type(server.rootKey);
      await tab.keyboard.press("Enter");
      await tab.waitForSelector("nav[aria-label=Console]");
      await tab.keyboard.press("Tab");
      expect(await tab.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
      await tab.keyboard.press("Tab");
      await tab.keyboard.press("Tab");
      expect(await tab.evaluate(() => document.activeElement?.textContent)).toBe("Keyspaces");
      await tab.keyboard.press("Enter");
      await tab.waitForSelector("h1:has-text('Keyspaces')");
      // The focus moves in an effect that runs after the new page is painted, so it may come a frame after the heading.
      await tab.waitForFunction(() => document.activeElement?.id === "content", undefined, { timeout: 5000 });
      await tab.keyboard.press("Tab");
      expect(await tab.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("keyspace-name");
      await context.close();
    }));

  it("broke no rule of the page's Content-Security-Policy on any page", () => {
    expect(cspViolations).toEqual([]);
  });
});
