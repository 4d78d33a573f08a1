import { MemoryStore } from "../../../src/store/memory.js";
import { ratelimitStoreContract } from "./contract.js";

ratelimitStoreContract("memory", async () => new MemoryStore());
