import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";

/** The deployment files are checked by reading them: there is no Docker or Kubernetes here. */
const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8");

describe("deploy/compose.yaml", () => {
  const compose = parse(read("deploy/compose.yaml"), { merge: true });

  it("runs two latchkey replicas from the Dockerfile on a MongoDB replica set, after it is ready", () => {
    expect(compose.services.mongo.command).toEqual(["--replSet", "rs0", "--bind_ip_all"]);
    expect(compose.services.mongo.healthcheck.test.join(" ")).toContain("rs.initiate");
    const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith("latchkey-")) as [string, Record<string, any>][];
    expect(replicas).toHaveLength(2);
    for (const [, replica] of replicas) {
      expect(replica.build).toEqual({ context: "..", dockerfile: "Dockerfile" });
      expect(replica.environment.MONGODB_URI).toBe("mongodb://mongo:27017/?replicaSet=rs0");
      expect(replica.environment.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/);
      expect(replica.depends_on).toEqual({ mongo: { condition: "service_healthy" } });
      expect(replica.ports.every((port: string) => port.startsWith("127.0.0.1:"))).toBe(true);
    }
    const hostPorts = replicas.flatMap(([, replica]) => replica.ports.map((port: string) => port.split(":")[1]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("sets only settings the service knows, with values it accepts", () => {
    const environment = compose.services["latchkey-1"].environment;
    expect(() => loadConfig({ ...environment, ADMIN_TOKEN: "x".repeat(40) })).not.toThrow();
  });
});

describe("deploy/kubernetes/latchkey.yaml", () => {
  const documents = parseAllDocuments(read("deploy/kubernetes/latchkey.yaml")).map((document) => document.toJS());
  const byKind = Object.fromEntries(documents.map((document) => [document.kind, document]));

  it("holds a Deployment, a Service and a PodDisruptionBudget that select the same pods", () => {
    expect(documents.map((document) => document.kind)).toEqual(["Deployment", "Service", "PodDisruptionBudget"]);
    const labels = byKind.Deployment.spec.template.metadata.labels;
    expect(byKind.Deployment.spec.selector.matchLabels).toEqual(labels);
    expect(byKind.Service.spec.selector).toEqual(labels);
    expect(byKind.PodDisruptionBudget.spec.selector.matchLabels).toEqual(labels);
    expect(byKind.PodDisruptionBudget.spec.minAvailable).toBeLessThan(byKind.Deployment.spec.replicas);
  });

  it("probes readiness through gRPC health on a port the container exposes, and runs as non-root", () => {
    const pod = byKind.Deployment.spec.template.spec;
    const [container] = pod.containers;
    const ports = Object.fromEntries(container.ports.map((port: { name: string; containerPort: number }) => [port.name, port.containerPort]));
    expect(Object.values(ports)).toContain(container.readinessProbe.grpc.port);
    expect(ports[container.livenessProbe.tcpSocket.port]).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    for (const port of byKind.Service.spec.ports) expect(ports[port.targetPort], port.name).toBe(port.port);
    const secretKeys = container.env.filter((variable: any) => variable.valueFrom).map((variable: any) => variable.name);
    expect(secretKeys).toEqual(["MONGODB_URI", "ADMIN_TOKEN"]);
  });
});
