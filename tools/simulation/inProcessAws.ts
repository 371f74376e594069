import type { Clock } from "../../handler/clock";
import { AwsError, type Operation } from "../../standins/awsJson";

interface Command {
  input: object;
}

/**
 * An AWS SDK v3 client look-alike that runs a stand-in's operations in process, on the virtual clock: the
 * project's own SSM reader, dead-letter sender and pacing store run unchanged against it.
 */
export function inProcessClient<T>(
  operations: Record<string, Operation>,
  options: {
    clock: Clock;
    latencyMs: number;
    fault?: (operation: string) => AwsError | undefined;
    /** Told of every call, to count them. */
    onCall?: (operation: string, input: Record<string, unknown>) => void;
    /** The stand-in copies what it keeps and what it answers, so the client need not. */
    copies?: boolean;
  },
): T {
  // The operation each command class names, worked out once per class: clients send millions of commands.
  const operationOf = new Map<unknown, string>();
  const client = {
    async send(command: Command): Promise<unknown> {
      let operation = operationOf.get(command.constructor);
      if (operation === undefined) {
        operation = command.constructor.name.replace(/Command$/, "");
        operationOf.set(command.constructor, operation);
      }
      const run = operations[operation];
      if (run === undefined) throw new Error(`the in-process client has no operation ${operation}`);
      options.onCall?.(operation, command.input as Record<string, unknown>);
      await options.clock.sleep(options.latencyMs);
      try {
        const fault = options.fault?.(operation);
        if (fault !== undefined) throw fault;
        if (options.copies === true) return await run(command.input as Record<string, unknown>);
        return structuredClone(await run(structuredClone(command.input) as Record<string, unknown>));
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        // Shaped as the SDK shapes service errors: the error code as the name, the body's members alongside.
        throw Object.assign(new Error(error.message), {
          name: error.type,
          ...error.extra,
          $metadata: { httpStatusCode: error.status },
        });
      }
    },
  };
  return client as T;
}
