import { createServer, type IncomingMessage } from "http";
import type { AddressInfo } from "net";
import { closeServer, readBody, send } from "./http";

// The AWS JSON protocol (SSM speaks 1.1, SQS and DynamoDB 1.0) as the SDK v3 clients use it. The stand-ins
// refuse what AWS refuses: unsigned requests, a wrong target or content type, operations they do not know.

export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Further members of the error body, e.g. DynamoDB's Item on a failed condition. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** AWS refuses a request without a SigV4 signature, as every stand-in of an AWS API does. */
export function unsignedRequestError(request: IncomingMessage): AwsError | undefined {
  return String(request.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 Credential=")
    ? undefined
    : new AwsError(
        "MissingAuthenticationTokenException",
        "Request is missing a SigV4 Authorization header",
        403,
      );
}

export type Operation = (input: Record<string, unknown>) => unknown;

export interface AwsJsonServiceSpec {
  /** The X-Amz-Target prefix, e.g. "AmazonSSM". */
  targetPrefix: string;
  contentType: "application/x-amz-json-1.0" | "application/x-amz-json-1.1";
  operations: Record<string, Operation>;
}

export interface AwsJsonStandIn {
  endpoint: string;
  /** Every call that reached an operation, in order. */
  calls: { operation: string; input: Record<string, unknown> }[];
  /** Makes the next `times` calls of `operation` (or of any operation, for "*") fail with `error`. */
  failNext(operation: string, error: AwsError, times?: number): void;
  close(): Promise<void>;
}

export async function startAwsJsonStandIn(spec: AwsJsonServiceSpec): Promise<AwsJsonStandIn> {
  const calls: AwsJsonStandIn["calls"] = [];
  const failures: { operation: string; error: AwsError }[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const fail = (error: AwsError) =>
        send(
          response,
          error.status,
          JSON.stringify({ __type: error.type, message: error.message, ...error.extra }),
          {
            "x-amzn-errortype": error.type,
            "content-type": spec.contentType,
          },
        );
      const unsigned = unsignedRequestError(request);
      if (unsigned !== undefined) {
        fail(unsigned);
        return;
      }
      const target = String(request.headers["x-amz-target"] ?? "");
      const [prefix, operationName = ""] = target.split(".");
      const operation = spec.operations[operationName];
      if (request.method !== "POST" || prefix !== spec.targetPrefix || operation === undefined) {
        fail(new AwsError("UnknownOperationException", `Unknown operation ${target}`));
        return;
      }
      if (request.headers["content-type"] !== spec.contentType) {
        fail(new AwsError("SerializationException", `Content-Type must be ${spec.contentType}`));
        return;
      }
      let input: unknown;
      try {
        input = JSON.parse(body);
      } catch {
        fail(new AwsError("SerializationException", "Body is not JSON"));
        return;
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        fail(new AwsError("SerializationException", "Body is not a JSON object"));
        return;
      }
      const index = failures.findIndex(
        (failure) => failure.operation === operationName || failure.operation === "*",
      );
      if (index >= 0) {
        const [failure] = failures.splice(index, 1);
        if (failure !== undefined) fail(failure.error);
        return;
      }
      calls.push({ operation: operationName, input: input as Record<string, unknown> });
      try {
        const output = await operation(input as Record<string, unknown>);
        send(response, 200, JSON.stringify(output ?? {}), { "content-type": spec.contentType });
      } catch (error) {
        if (error instanceof AwsError) fail(error);
        else fail(new AwsError("InternalFailure", String(error), 500));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    failNext(operation, error, times = 1) {
      for (let count = 0; count < times; count += 1) failures.push({ operation, error });
    },
    close: () => closeServer(server),
  };
}

export function requireString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "") {
    throw new AwsError(
      "ValidationException",
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}
