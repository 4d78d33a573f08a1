import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readFile } from "node:fs/promises";
import { MongoMemoryServer } from "mongodb-memory-server";

/**
 * Finds a MongoDB for the tests, in this order:
 * 1. MONGODB_URI, when set;
 * 2. a real mongod through mongodb-memory-server (it downloads one on first use);
 * 3. offline, mongo-java-server on a loopback port, resolved from Maven Central by ./mongo-java-server/pom.xml.
 */
export interface TestMongo {
  uri: string;
  description: string;
  /** The server's process when the harness started one of its own: what a benchmark reads its CPU time from. */
  pid?: number;
  stop(): Promise<void>;
}

export async function startTestMongo(log: (line: string) => void): Promise<TestMongo> {
  if (process.env.MONGODB_URI) {
    return { uri: process.env.MONGODB_URI, description: "MongoDB from MONGODB_URI", stop: async () => {} };
  }
  // mongodb-memory-server prints a whole stack trace to console.warn when it cannot start a mongod
  // (offline, its download fails): the one line logged below says it without alarming anyone.
  const warn = console.warn;
  console.warn = () => {};
  try {
    const server = await MongoMemoryServer.create({ instance: { ip: "127.0.0.1" } });
    return { uri: server.getUri(), description: `real mongod via mongodb-memory-server`, stop: async () => void (await server.stop()) };
  } catch (error) {
    log(`mongodb-memory-server could not start a mongod (${firstLine(error)}), falling back to mongo-java-server`);
  } finally {
    console.warn = warn;
  }
  return startMongoJavaServer();
}

const launcherDir = fileURLToPath(new URL("./mongo-java-server/", import.meta.url));

async function startMongoJavaServer(): Promise<TestMongo> {
  const classpathFile = `${launcherDir}.classpath`;
  await promisify(execFile)("mvn", ["-q", "-B", "-f", `${launcherDir}pom.xml`, "dependency:build-classpath", `-Dmdep.outputFile=${classpathFile}`], {
    timeout: 10 * 60_000,
  });
  const classpath = (await readFile(classpathFile, "utf8")).trim();
  const child = spawn("java", ["-cp", classpath, `${launcherDir}Launcher.java`], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await readPort(child);
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    description: `mongo-java-server 1.47.0 (in-memory, reports MongoDB 5.0) on 127.0.0.1 port ${port}`,
    pid: child.pid,
    stop: async () => {
      const exited = once(child, "exit");
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function readPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  const timeout = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    for await (const line of lines) {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) return Number(match[1]);
    }
  } finally {
    clearTimeout(timeout);
  }
  throw new Error("mongo-java-server exited before reporting its port");
}

const firstLine = (error: unknown) => String(error instanceof Error ? error.message : error).split("\n")[0];
