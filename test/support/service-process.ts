import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The service as `npm start` runs it (node --import tsx src/bin/serve.ts), configured by the environment. */
const root = fileURLToPath(new URL("../..", import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** Its log, a JSON object per line. */
  lines: string[];
  /** The HTTP/2 port, once it listens; rejects if it exits first. */
  listening: Promise<number>;
  stderr(): string;
  /** SIGTERM, and its exit code and signal. */
  stop(): Promise<[number | null, NodeJS.Signals | null]>;
}

/** Runs the sources through tsx unless told to run something else (the compiled service) from elsewhere. */
export function startService(
  env: Record<string, string>,
  from: { cwd: string; entry: string[] } = { cwd: root, entry: ["--import", "tsx", "src/bin/serve.ts"] },
): ServiceProcess {
  const child = spawn(process.execPath, from.entry, {
    cwd: from.cwd,
    env: { ...process.env, MONGODB_URI: "", HOST: "127.0.0.1", PORT: "0", HTTP1_PORT: "0", GRPC_PORT: "0", METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      const entry = JSON.parse(line);
      if (entry.message === "listening") resolve(entry.port);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return {
    child,
    lines,
    listening,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return [child.exitCode, child.signalCode];
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill("SIGTERM");
      return exited;
    },
  };
}
