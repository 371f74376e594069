import { GetItemCommand, PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { PacingState, PacingStore } from "../delivery/pacing";
import { RESOLUTION_MEMORY_MS, type ResolutionLedger } from "./resolutions";

// The delivery state shared by every container of a stack, in one DynamoDB table keyed by "id": the routing
// key's send schedule (one item) and recently sent resolutions (one item each, expired by the table's TTL).

/** The send schedule as one item, swapped with a conditional write. */
export function createDynamoPacingStore(client: DynamoDBClient, tableName: string): PacingStore {
  return {
    async swap(id, expected, next) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { id: { S: id }, tat: { N: String(next.tat) } },
            ConditionExpression: expected === undefined ? "attribute_not_exists(id)" : "tat = :expected",
            ...(expected === undefined
              ? {}
              : { ExpressionAttributeValues: { ":expected": { N: String(expected.tat) } } }),
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { ok: true };
      } catch (error) {
        // Matched by name: the runtime's SDK copy may differ from the one this file was built against.
        if (!(error instanceof Error) || error.name !== "ConditionalCheckFailedException") throw error;
        const tat = (error as { Item?: Record<string, { N?: string }> }).Item?.tat?.N;
        const current: PacingState | undefined = tat === undefined ? undefined : { tat: Number(tat) };
        return { ok: false, current };
      }
    },
  };
}

export function createDynamoResolutionLedger(client: DynamoDBClient, tableName: string): ResolutionLedger {
  const key = (dedupKey: string) => ({ id: { S: `resolved#${dedupKey}` } });
  return {
    async resolvedAt(dedupKey) {
      const output = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(dedupKey), ConsistentRead: true }),
      );
      const updatedAt = output.Item?.updatedAt?.N;
      return updatedAt === undefined ? undefined : Number(updatedAt);
    },
    async record(dedupKey, updatedAt) {
      const expiresAt = Math.floor((updatedAt + RESOLUTION_MEMORY_MS) / 1000);
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(dedupKey),
            updatedAt: { N: String(updatedAt) },
            expiresAt: { N: String(expiresAt) },
          },
        }),
      );
    },
  };
}
