import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChromium, TestChromium } from "./chromium.js";

let chromium: TestChromium;

beforeAll(async () => {
  chromium = await TestChromium.launch(await findChromium(console.log));
}, 600_000);

afterAll(() => chromium?.close());

describe("the browser tests' Chromium", () => {
  it("runs a test's steps once more on a new Chromium when its process is killed under them", async () => {
    const killed = chromium.processId!;
    let attempts = 0;
    const title = await chromium.steps(async () => {
      attempts++;
      const page = await chromium.newPage();
      await page.setContent("<title>before</title>");
      if (attempts === 1) process.kill(chromium.processId!, "SIGKILL");
      await page.setContent("<title>after</title>");
      return page.title();
    });
    expect({ title, attempts }).toEqual({ title: "after", attempts: 2 });
    expect(chromium.processId).not.toBe(killed);
  });

  it("leaves any other failure of the steps to the test, without running them again", async () => {
    let attempts = 0;
    const failed = chromium.steps(async () => {
      attempts++;
      const page = await chromium.newPage();
      await page.setContent("<title>only once</title>");
      throw new Error(`a failing step saw ${await page.title()}`);
    });
    await expect(failed).rejects.toThrow("a failing step saw only once");
    expect(attempts).toBe(1);
  });
});
