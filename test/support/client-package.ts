import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));
export const run = promisify(execFile);

/**
 * A project of its own that installed packages/client as a consumer gets it: from the tarball
 * `npm pack` writes, beside the given dependencies.
 */
export async function installClientPackage(dependencies: Record<string, string>): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-consumer-"));
  await run("npm", ["pack", "-w", "packages/client", "--pack-destination", dir], { cwd: repositoryRoot });
  const tarball = readdirSync(dir).find((file) => file.endsWith(".tgz"))!;
  const manifest = { name: "consumer", type: "module", private: true, dependencies: { "@latchkey/client": `file:./${tarball}`, ...dependencies } };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
