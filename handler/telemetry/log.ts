export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/**
 * One JSON object per line, which CloudWatch Logs Insights queries field by field. Callers pass identifiers
 * and outcomes only: the routing key is never handed to a logger.
 */
export function createJsonLogger(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const emit = (level: string, message: string, fields: LogFields = {}) =>
    write(JSON.stringify({ level, message, ...fields }));
  return {
    info: (message, fields) => emit("INFO", message, fields),
    warn: (message, fields) => emit("WARN", message, fields),
    error: (message, fields) => emit("ERROR", message, fields),
  };
}

/** Drops every line: for local runs whose output tells the story itself. */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** An error as a log line or a dead letter's reason shows it: the service's error code, then its message. */
export function errorText(error: unknown): string {
  if (error instanceof Error)
    return error.name === "Error" ? error.message : `${error.name}: ${error.message}`;
  return String(error);
}
