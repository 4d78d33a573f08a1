import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Where the tests keep the Go tools they install: outside the repository, kept between runs, so
 * only the first run on a machine pays for `go install`.
 */
export const TOOLS_DIR = process.env.LATCHKEY_TEST_TOOLS_DIR ?? join(tmpdir(), "latchkey-test-tools");
export const GO_BIN = join(TOOLS_DIR, "go-bin");

/** How long a first `go install` may take on a loaded machine: it downloads and compiles the module's dependencies. */
export const GO_INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * The path of a Go command: found on PATH, or installed at the pinned version into GO_BIN by
 * `go install` (Go itself is the one thing these tests need on a fresh machine).
 */
export async function goTool(name: string, module: string, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<string> {
  const onPath = (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));
  if (onPath) return onPath;
  const installed = join(GO_BIN, name);
  if (existsSync(installed)) return installed;
  mkdirSync(GO_BIN, { recursive: true });
  log(`[test go tools] installing ${module} into ${GO_BIN}`);
  await run("go", ["install", module], { env: { ...process.env, GOBIN: GO_BIN }, timeout: GO_INSTALL_TIMEOUT_MS });
  return installed;
}
