import { MemoryStore } from "../../src/store/memory.js";
import { analyticsContract } from "./analytics/contract.js";
import { storeContract } from "./contract.js";

storeContract("memory", async () => new MemoryStore());
analyticsContract("memory", async () => new MemoryStore());
