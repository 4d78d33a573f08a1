/**
 * `npm run bench:gc`: how often V8 collects garbage while the native gRPC port answers cached
 * VerifyKey calls, for each young-generation size in GC_SEMI_SPACE_MB (comma-separated MB of
 * `--max-semi-space-size`, 0 for V8's default; "0,32,64" unless set). For each, a service in
 * memory runs under `--trace-gc`, h2load sends GC_CALLS calls (100,000 unless set) after 10,000 to
 * warm up, and one JSON line gives the collections counted during those calls and the time V8
 * reported for them. The counts hold on a busy machine; the times only on a quiet one.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyKeyRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer } from "../support/auth.js";
import { freePort } from "../support/free-port.js";
import { inMemoryServiceEnv } from "./bench-support.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CALLS = Number(process.env.GC_CALLS ?? 100_000);
const SEMI_SPACES = (process.env.GC_SEMI_SPACE_MB ?? "0,32,64").split(",").map(Number);
const run = promisify(execFile);
/** One line of --trace-gc: the kind of collection and the time it took. */
const TRACE_LINE = /: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Sweep)\b.*? MB, ([\d.]+) \/ [\d.]+ ms/;
const work = mkdtempSync(join(tmpdir(), "latchkey-gc-"));

async function collectionsWith(semiSpaceMb: number) {
  const adminToken = randomBytes(32).toString("hex");
  const grpcPort = await freePort();
  const flags = ["--trace-gc", ...(semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`] : [])];
  const child = spawn(process.execPath, [...flags, "--import", "tsx", "src/bin/serve.ts"], {
    cwd: root,
    env: { ...process.env, ...inMemoryServiceEnv(grpcPort, adminToken) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let counting = false;
    const counted = { young: 0, youngMs: 0, full: 0, fullMs: 0 };
    await new Promise<void>((listening, failed) => {
      child.once("exit", (code) => failed(new Error(`the service exited with ${code}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.includes('"listening"')) listening();
        const match = TRACE_LINE.exec(line);
        if (!counting || !match) return;
        const young = match[1] === "Scavenge" || match[1] === "Minor Mark-Sweep";
        counted[young ? "young" : "full"]++;
        counted[young ? "youngMs" : "fullMs"] += Number(match[2]);
      });
    });
    const url = `http://127.0.0.1:${grpcPort}`;
    const made = await createClient(WorkspaceService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(adminToken)] })).createWorkspace({
      workspace: { name: "gc" },
    });
    const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer(made.rootKeySecret)] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "gc" } });
    const { secret } = await createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id, permissions: ["documents.read"] } });
    const body = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: secret, permissionQuery: "documents.read" }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const bodyFile = join(work, "body.bin");
    writeFileSync(bodyFile, frame);
    // Asynchronously, so the service's trace lines are read while the calls run.
    const calls = async (count: number) =>
      (
        await run(
          "h2load",
          [
            "-c",
            "4",
            "-m",
            "16",
            "-t",
            "1",
            "-n",
            String(count),
            "-d",
            bodyFile,
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "-H",
            `authorization: Bearer ${made.rootKeySecret}`,
            `${url}/latchkey.v1.VerifyService/VerifyKey`,
          ],
          { encoding: "utf8" },
        )
      ).stdout;
    await calls(10_000);
    counting = true;
    const output = await calls(CALLS);
    // The last trace lines of the run may still be on their way.
    await new Promise((resolve) => setTimeout(resolve, 500));
    counting = false;
    const failed = Number(/(\d+) failed/.exec(output)?.[1] ?? 0);
    return {
      semi_space_mb: semiSpaceMb,
      calls: CALLS,
      failed,
      young_collections: counted.young,
      young_collection_ms: Math.round(counted.youngMs),
      full_collections: counted.full,
      full_collection_ms: Math.round(counted.fullMs),
    };
  } finally {
    child.kill("SIGTERM");
  }
}

try {
  for (const semiSpaceMb of SEMI_SPACES) console.log(JSON.stringify(await collectionsWith(semiSpaceMb)));
} finally {
  rmSync(work, { recursive: true, force: true });
}
