/** JSON lines on stdout. Callers pass no secrets: fields are written as given. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = "info" | "warn" | "error" | "silent";
const RANK: Record<LogLevel, number> = { info: 1, warn: 2, error: 3, silent: 4 };

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const emit = (at: Exclude<LogLevel, "silent">) => (message: string, fields?: Record<string, unknown>) => {
    if (RANK[at] >= RANK[level]) write(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...fields }));
  };
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}
