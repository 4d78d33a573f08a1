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
    expect(compose.services.mongo.command.slice(0, 3)).toEqual(["--replSet", "rs0", "--bind_ip_all"]);
    expect(compose.services.mongo.healthcheck.test.join(" ")).toContain("rs.initiate");
    const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith("latchkey-")) as [string, Record<string, any>][];
    expect(replicas).toHaveLength(2);
    for (const [, replica] of replicas) {
      expect(replica.build).toEqual({ context: "..", dockerfile: "Dockerfile" });
      expect(replica.environment.MONGODB_URI).toMatch(/^mongodb:\/\/latchkey:\$\{MONGO_PASSWORD:\?[^}]*\}@mongo:27017\/\?replicaSet=rs0&authSource=admin$/);
      expect(replica.environment.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/);
      expect(replica.depends_on).toEqual({ mongo: { condition: "service_healthy" } });
      expect(replica.ports.every((port: string) => port.startsWith("127.0.0.1:"))).toBe(true);
    }
    const hostPorts = replicas.flatMap(([, replica]) => replica.ports.map((port: string) => port.split(":")[1]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it("runs MongoDB with access control: a root user from MONGO_PASSWORD, a key file for the replica set, latchkey logging in", () => {
    const mongo = compose.services.mongo;
    expect(mongo.environment.MONGO_INITDB_ROOT_USERNAME).toBe("latchkey");
    expect(mongo.environment.MONGO_INITDB_ROOT_PASSWORD).toMatch(/^\$\{MONGO_PASSWORD:\?/);
    const keyFile = mongo.command[mongo.command.indexOf("--keyFile") + 1];
    expect(keyFile).toBe("/keys/replica.key");
    expect(mongo.volumes).toContain("mongo-keys:/keys:ro");
    expect(mongo.depends_on).toEqual({ "mongo-keyfile": { condition: "service_completed_successfully" } });
    const maker = compose.services["mongo-keyfile"];
    expect(maker.volumes).toEqual(["mongo-keys:/keys"]);
    expect(maker.entrypoint.join(" ")).toContain("chmod 400 /keys/replica.key");
    expect(mongo.healthcheck.test.join(" ")).toContain("--authenticationDatabase admin");
  });

  it("publishes no metrics port: only containers on the compose network can scrape", () => {
    const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith("latchkey-")) as [string, Record<string, any>][];
    for (const [, replica] of replicas) expect(replica.ports.filter((port: string) => port.endsWith(":9464"))).toEqual([]);
  });

  it("sets only settings the service knows, with values it accepts", () => {
    const environment = compose.services["latchkey-1"].environment;
    expect(() => loadConfig({ ...environment, ADMIN_TOKEN: "x".repeat(40) })).not.toThrow();
  });
});

describe("the Dockerfile's metrics setting", () => {
  it("opens the metrics listener to the container's network for scraping, which the service would keep on loopback", () => {
    const runtimeEnv = /^ENV (.*)$/m.exec(
      read("Dockerfile")
        .split(/^FROM /m)
        .at(-1)!,
    )![1]!;
    const settings = Object.fromEntries(runtimeEnv.split(" ").map((setting) => setting.split("=")));
    expect(settings.METRICS_HOST).toBe("0.0.0.0");
    expect(loadConfig({}).metricsHost).toBe("127.0.0.1");
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

  it("keeps metrics out of the Service, and has Prometheus scrape each pod where the metrics listener listens", () => {
    const template = byKind.Deployment.spec.template;
    const [container] = template.spec.containers;
    const metricsPort = container.ports.find((port: { name: string }) => port.name === "metrics").containerPort;
    expect(byKind.Service.spec.ports.map((port: { port: number; targetPort: string }) => [port.port, port.targetPort])).not.toContainEqual([
      metricsPort,
      "metrics",
    ]);
    expect(byKind.Service.spec.ports.map((port: { name: string }) => port.name)).toEqual(["grpc-web", "http1", "grpc"]);
    expect(template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(metricsPort),
      "prometheus.io/path": "/metrics",
    });
    const environment = Object.fromEntries(
      container.env.filter((variable: any) => "value" in variable).map((variable: any) => [variable.name, variable.value]),
    );
    expect(loadConfig(environment)).toMatchObject({ metricsHost: "0.0.0.0", metricsPort });
  });

  it("runs under the runtime's default seccomp profile, without a service account token", () => {
    const pod = byKind.Deployment.spec.template.spec;
    expect(pod.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(pod.automountServiceAccountToken).toBe(false);
  });
});

describe("deploy/kubernetes/network-policy.yaml", () => {
  const [policy] = parseAllDocuments(read("deploy/kubernetes/network-policy.yaml")).map((document) => document.toJS());
  const deployment = parseAllDocuments(read("deploy/kubernetes/latchkey.yaml")).map((document) => document.toJS())[0];

  it("selects latchkey's pods and lets only Prometheus reach the metrics port, and anyone the API ports", () => {
    expect(policy).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", spec: { policyTypes: ["Ingress"] } });
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const [container] = deployment.spec.template.spec.containers;
    const ports = Object.fromEntries(container.ports.map((port: { name: string; containerPort: number }) => [port.name, port.containerPort]));
    const rules = policy.spec.ingress as { from?: unknown[]; ports: { port: number }[] }[];
    const open = rules.filter((rule) => !rule.from).flatMap((rule) => rule.ports.map((port) => port.port));
    expect(open.sort()).toEqual([ports["grpc-web"], ports.http1, ports.grpc].sort());
    const scrapers = rules.filter((rule) => rule.ports.some((port) => port.port === ports.metrics));
    expect(scrapers).toHaveLength(1);
    expect(scrapers[0]!.from).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
      },
    ]);
  });
});
