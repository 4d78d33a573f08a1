import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with a plain "Tests: N passed, N failed, N skipped" line that any CI log reader
 * understands. A test file that fails to load fails no test of its own, so it counts as one failure.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const module of testModules) {
      const before = counts.failed;
      for (const test of module.children.allTests()) counts[test.result().state]++;
      if (module.state() === "failed" && counts.failed === before) counts.failed++;
    }
    process.stdout.write(`\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
