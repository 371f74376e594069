import { PutItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { PacingState, PacingStore } from "./pacing";

/** The shared schedule as one DynamoDB item per routing key, swapped with a conditional write. */
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
