import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort } from "../support/free-port.js";
import { startService } from "../support/service-process.js";

/**
 * There is no Docker daemon here: the Dockerfile is read, and its steps are run as it would run
 * them: build with tsc, install production dependencies alone in a fresh directory, start the
 * compiled service there, and run its HEALTHCHECK.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const stages = dockerfile.split(/^FROM /m).slice(1);
const run = promisify(execFile);
const image = mkdtempSync(join(tmpdir(), "latchkey-image-"));
afterAll(() => rmSync(image, { recursive: true, force: true }));

describe("the Dockerfile", () => {
  it("builds in one stage and runs compiled JavaScript as a non-root user in the next, with a health check", () => {
    expect(stages).toHaveLength(2);
    const [build, runtime] = stages as [string, string];
    expect(build).toMatch(/^node:22-bookworm-slim AS build/);
    expect(build).toContain("RUN npm run build");
    expect(runtime).toMatch(/^node:22-bookworm-slim\n/);
    expect(runtime).toContain("npm ci --omit=dev");
    expect(runtime).toContain("COPY --from=build /app/dist ./dist");
    expect(runtime).toContain("NODE_ENV=production");
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .* CMD \["node", "dist\/src\/bin\/healthcheck.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/src\/bin\/serve.js"\]$/m);
    expect(runtime).not.toContain("tsx");
  });

  it("its steps give a service that starts from dist/ with production dependencies only, and answers its HEALTHCHECK", async () => {
    await run("npm", ["run", "build"], { cwd: root });
    for (const file of ["package.json", "package-lock.json"]) cpSync(join(root, file), join(image, file));
    await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: image });
    cpSync(join(root, "dist"), join(image, "dist"), { recursive: true });
    expect(() => readFileSync(join(image, "node_modules", "tsx", "package.json"))).toThrow();

    // A port of its own: HTTP1_PORT=0 would turn that listener off.
    const http1Port = await freePort();
    const env = {
      NODE_ENV: "production",
      MONGODB_URI: inject("mongoUri"),
      MONGODB_DATABASE: `latchkey_image_${Date.now()}`,
      HTTP1_PORT: String(http1Port),
      CONSOLE_ENABLED: "true",
    };
    const service = startService(env, { cwd: image, entry: ["dist/src/bin/serve.js"] });
    await service.listening;
    const consolePage = await fetch(`http://127.0.0.1:${http1Port}/console/`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get("content-security-policy")).toContain("script-src 'self'");
    const healthcheck = await run(process.execPath, ["dist/src/bin/healthcheck.js"], { cwd: image, env: { ...process.env, HTTP1_PORT: String(http1Port) } });
    expect(healthcheck.stderr).toBe("");
    expect(await service.stop()).toEqual([0, null]);
    await expect(
      run(process.execPath, ["dist/src/bin/healthcheck.js"], { cwd: image, env: { ...process.env, HTTP1_PORT: String(http1Port) } }),
    ).rejects.toMatchObject({ code: 1 });
  }, 180_000);
});
