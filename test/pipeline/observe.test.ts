import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/observability/log.js";
import { Metrics } from "../../src/observability/metrics.js";
import { metricsAndAccessLog, REQUEST_ID_HEADER, RequestIds } from "../../src/pipeline/observe.js";
import { fakeContext } from "./fake-context.js";

describe("observe", () => {
  it("keeps a request id the caller offers when it fits, answers it, and gives one of ours otherwise", () => {
    const ids = new RequestIds();
    const offered = fakeContext({ [REQUEST_ID_HEADER]: "trace-42.a_b" });
    expect(ids.assign(offered)).toBe("trace-42.a_b");
    expect(offered.responseHeaders.get(REQUEST_ID_HEADER)).toBe("trace-42.a_b");
    const unfit = fakeContext({ [REQUEST_ID_HEADER]: "has spaces/and:colons" });
    const ours = ids.assign(unfit);
    expect(ours).not.toBe("has spaces/and:colons");
    expect(unfit.responseHeaders.get(REQUEST_ID_HEADER)).toBe(ours);
    expect(ids.assign(fakeContext())).not.toBe(ours);
  });

  it("each call's end is measured under its procedure and code, and logged with its request id", async () => {
    const metrics = new Metrics();
    const lines: unknown[] = [];
    const log: Logger = { info: (message, fields) => lines.push({ message, ...fields }), warn: () => {}, error: () => {} };
    const start = metricsAndAccessLog(metrics, log, true).observe("latchkey.v1.KeyService/GetKey");
    start("req1", fakeContext())("NOT_FOUND");
    expect(lines).toEqual([{ message: "rpc", procedure: "latchkey.v1.KeyService/GetKey", code: "NOT_FOUND", ms: expect.any(Number), requestId: "req1" }]);
    expect(await metrics.render()).toMatch(/procedure="latchkey\.v1\.KeyService\/GetKey",code="NOT_FOUND"/);
  });
});
