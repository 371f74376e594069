import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { AddressInfo } from "net";

/**
 * DynamoDB's API in memory, over HTTP (dynalite: a full implementation of condition and update expressions,
 * reserved words and validation), with the stack's tables created as the program declares them.
 */
export interface DynamoDbEmulator {
  endpoint: string;
  item(table: string, id: string): Promise<Record<string, AttributeValue> | undefined>;
  close(): Promise<void>;
}

export async function startDynalite(tables: string[]): Promise<DynamoDbEmulator> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
  });
  for (const table of tables) {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  }
  return {
    endpoint,
    async item(table, id) {
      const output = await client.send(
        new GetItemCommand({ TableName: table, Key: { id: { S: id } }, ConsistentRead: true }),
      );
      return output.Item;
    },
    async close() {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
