import type { TestProject } from "vitest/node";
import { startTestMongo } from "./mongodb.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

export default async function setup(project: TestProject) {
  const mongo = await startTestMongo((line) => console.log(`[test mongodb] ${line}`));
  console.log(`[test mongodb] using ${mongo.description}`);
  project.provide("mongoUri", mongo.uri);
  return () => mongo.stop();
}
