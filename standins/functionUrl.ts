import { createServer, type IncomingMessage } from "http";
import type { AddressInfo } from "net";
import { closeServer, send } from "./http";

// A Lambda function URL on 127.0.0.1: each HTTP request becomes the function's event (payload format 2.0: headers
// in lower case, the raw body base64-encoded unless it is text) and its answer the HTTP response.

export interface FunctionUrlEvent {
  version: "2.0";
  rawPath: string;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  requestContext: { http: { method: string; path: string } };
}

export type FunctionUrlHandler = (
  event: FunctionUrlEvent,
) => Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;

export interface FunctionUrlStandIn {
  url: string;
  close(): Promise<void>;
}

function readRaw(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export async function startFunctionUrl(handler: FunctionUrlHandler): Promise<FunctionUrlStandIn> {
  const server = createServer((request, response) => {
    void (async () => {
      const raw = await readRaw(request);
      const text = /^application\/json|^text\//.test(request.headers["content-type"] ?? "");
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(",") : (value ?? ""),
        ]),
      );
      const result = await handler({
        version: "2.0",
        rawPath: request.url ?? "/",
        headers,
        body: text ? raw.toString("utf8") : raw.toString("base64"),
        isBase64Encoded: !text,
        requestContext: { http: { method: request.method ?? "GET", path: request.url ?? "/" } },
      });
      send(response, result.statusCode, result.body ?? "", result.headers ?? {});
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => closeServer(server),
  };
}
