/**
 * A gRPC load generator for `npm run bench`, in a process of its own: unlike h2load it sends a
 * different body with each request, so every verification can name a different key. It reads a
 * JSON job on stdin, sends pre-framed bodies round robin over HTTP/2 connections spread across the
 * given instances, and prints one JSON line: requests per second, p50 and p99 in ms, failures
 * (transport errors or a grpc-status other than 0) and the CPU seconds it used itself. Closed loop (`streams` in flight per
 * connection) unless `rate` paces it at that many requests per second. With `timelineFile`, it
 * also appends each measured second's count, p50, p99 and slowest answer to that file, by the
 * second the requests were sent in: a p99 made by a few stalls shows as the seconds they fell in.
 */
import http2 from "node:http2";
import { appendFileSync, readFileSync } from "node:fs";

interface Job {
  urls: string[];
  path: string;
  rootKey: string;
  /** A file of length-prefixed gRPC frames, one request body each. */
  framesFile: string;
  connections: number;
  streams: number;
  seconds: number;
  warmupSeconds: number;
  rate?: number;
  timelineFile?: string;
}

const job = JSON.parse(readFileSync(0, "utf8")) as Job;

function readFrames(file: string): Buffer[] {
  const bytes = readFileSync(file);
  const frames: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const length = 5 + bytes.readUInt32BE(offset + 1);
    frames.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}

const frames = readFrames(job.framesFile);
const sessions = Array.from({ length: job.connections }, (_, i) => {
  const session = http2.connect(job.urls[i % job.urls.length]!);
  session.on("error", () => {});
  return session;
});
const headers = { ":method": "POST", ":path": job.path, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${job.rootKey}` };

let next = 0;
let inFlight = 0;
const latencies: number[] = [];
const bySecond: number[][] = [];
let failed = 0;
const started = performance.now();
const measureFrom = started + job.warmupSeconds * 1000;
const stopAt = measureFrom + job.seconds * 1000;

function send(session: http2.ClientHttp2Session, then: () => void) {
  const body = frames[next++ % frames.length]!;
  const sentAt = performance.now();
  let status: string | undefined;
  inFlight++;
  const stream = session.request(headers);
  stream.on("response", (received) => (status ??= received["grpc-status"] as string | undefined));
  stream.on("trailers", (received) => (status = received["grpc-status"] as string | undefined));
  stream.on("data", () => {});
  stream.on("error", () => (status = "transport"));
  stream.on("close", () => {
    inFlight--;
    const now = performance.now();
    if (sentAt >= measureFrom && now <= stopAt) {
      latencies.push(now - sentAt);
      (bySecond[Math.floor((sentAt - measureFrom) / 1000)] ??= []).push(now - sentAt);
      if (status !== "0") failed++;
    }
    then();
  });
  stream.end(body);
}

await new Promise<void>((finish) => {
  const maybeFinish = () => {
    if (performance.now() >= stopAt && inFlight === 0) finish();
  };
  if (job.rate) {
    // Open loop: one request every 1/rate s, whatever the answers do (capped so a stalled server cannot exhaust memory).
    let sent = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= stopAt) {
        clearInterval(timer);
        maybeFinish();
        return;
      }
      const due = Math.floor(((now - started) / 1000) * job.rate!);
      for (; sent < due && inFlight < 10_000; sent++) send(sessions[sent % sessions.length]!, maybeFinish);
    }, 1);
  } else {
    const loop = (session: http2.ClientHttp2Session) => () => (performance.now() < stopAt ? send(session, loop(session)) : maybeFinish());
    for (const session of sessions) for (let i = 0; i < job.streams; i++) send(session, loop(session));
  }
});

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
if (job.timelineFile) {
  const lines = bySecond.flatMap((second, index) => {
    if (!second) return [];
    second.sort((a, b) => a - b);
    const ms = (value: number) => value.toFixed(1);
    return [`${index} n=${second.length} p50=${ms(quantile(second, 0.5))} p99=${ms(quantile(second, 0.99))} max=${ms(second.at(-1)!)}`];
  });
  appendFileSync(job.timelineFile, `--- ${job.path} ${job.rate ? `${job.rate} req/s` : "closed loop"}\n${lines.join("\n")}\n`);
}
latencies.sort((a, b) => a - b);
const at = (q: number) => quantile(latencies, q);
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({ rps: latencies.length / job.seconds, p50: at(0.5), p99: at(0.99), failed, cpuSeconds: (user + system) / 1e6 }));
for (const session of sessions) session.close();
