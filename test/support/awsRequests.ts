import { NodeHttpHandler } from "@smithy/node-http-handler";

// Every request the AWS SDK sends from this process, as it leaves the SDK: signed, whichever client or host. The
// grants test derives from these what IAM authorizes, so a call the code starts making is checked without anyone
// listing it.

export interface AwsRequest {
  /** The signing name and Region of the SigV4 credential scope, as AWS reads them. */
  service: string;
  region: string;
  /** The operation: the JSON protocols' X-Amz-Target, or a REST route the SDK sends to. */
  operation: string;
  input: Record<string, unknown>;
}

// Security Hub speaks REST-JSON: the SDK's routes for the operations this project knows.
const REST_ROUTES: Record<string, string> = {
  "PATCH /findings/batchupdate": "BatchUpdateFindings",
  "PATCH /findingsv2/batchupdatev2": "BatchUpdateFindingsV2",
};

interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

function read(request: SentRequest): AwsRequest {
  const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(
    request.headers.authorization ?? "",
  );
  if (scope === null) throw new Error(`an unsigned AWS request: ${request.method} ${request.path}`);
  const [, region = "", service = ""] = scope;
  const target = request.headers["x-amz-target"];
  const route = `${request.method} ${request.path}`;
  const operation = target === undefined ? (REST_ROUTES[route] ?? route) : (target.split(".").pop() ?? "");
  const { body } = request;
  // The JSON codecs hand over bytes that pretend to be a string; decoding them as bytes asks nothing of them.
  const text =
    typeof body === "string" ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : "";
  const input = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
  return { service, region, operation, input };
}

/** Records the AWS requests sent while `run` runs; the SDK's handler is restored after, whatever happens. */
export async function recordAwsRequests(run: () => Promise<void>): Promise<AwsRequest[]> {
  const requests: AwsRequest[] = [];
  const original = Object.getOwnPropertyDescriptor(NodeHttpHandler.prototype, "handle");
  if (original?.value === undefined)
    throw new Error("NodeHttpHandler.handle is not where the recorder expects");
  const handle = original.value as (this: NodeHttpHandler, ...args: unknown[]) => Promise<unknown>;
  NodeHttpHandler.prototype.handle = function (this: NodeHttpHandler, ...args: unknown[]) {
    requests.push(read(args[0] as SentRequest));
    return handle.apply(this, args);
  } as typeof NodeHttpHandler.prototype.handle;
  try {
    await run();
  } finally {
    Object.defineProperty(NodeHttpHandler.prototype, "handle", original);
  }
  return requests;
}
