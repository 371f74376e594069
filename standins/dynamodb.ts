import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn, type Operation } from "./awsJson";

type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface DynamoDbService {
  operations: Record<string, Operation>;
  item(table: string, id: string): Item | undefined;
}

/**
 * DynamoDB's GetItem and PutItem on tables keyed by a string "id", with exactly the two conditions the pacing
 * store uses; any other expression is refused rather than guessed at.
 */
export function createDynamoDbService(tables: string[]): DynamoDbService {
  const data = new Map(tables.map((table) => [table, new Map<string, Item>()]));
  const tableOf = (input: Record<string, unknown>) => {
    const table = data.get(requireString(input, "TableName"));
    if (table === undefined) throw new AwsError("ResourceNotFoundException", "Requested resource not found");
    return table;
  };
  return {
    operations: {
      GetItem(input) {
        const table = tableOf(input);
        const id = (input.Key as Item | undefined)?.id?.S;
        if (typeof id !== "string")
          throw new AwsError("ValidationException", "The provided key element does not match the schema");
        const item = table.get(id);
        return item === undefined ? {} : { Item: item };
      },
      PutItem(input) {
        const table = tableOf(input);
        const item = input.Item as Item | undefined;
        const id = item?.id?.S;
        if (item === undefined || typeof id !== "string") {
          throw new AwsError("ValidationException", "One of the required keys was not given a value");
        }
        const current = table.get(id);
        const condition = input.ConditionExpression;
        const values = (input.ExpressionAttributeValues ?? {}) as Item;
        let holds: boolean;
        if (condition === undefined) holds = true;
        else if (condition === "attribute_not_exists(id)") holds = current === undefined;
        else if (condition === "tat = :expected" && values[":expected"]?.N !== undefined) {
          holds = current?.tat?.N !== undefined && Number(current.tat.N) === Number(values[":expected"].N);
        } else {
          throw new AwsError("ValidationException", `Unsupported ConditionExpression: ${String(condition)}`);
        }
        if (!holds) {
          const old = input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && current !== undefined;
          throw new AwsError(
            "ConditionalCheckFailedException",
            "The conditional request failed",
            400,
            old ? { Item: current } : {},
          );
        }
        table.set(id, item);
        return {};
      },
    },
    item: (table, id) => data.get(table)?.get(id),
  };
}

export type DynamoDbStandIn = AwsJsonStandIn & Pick<DynamoDbService, "item">;

export async function startDynamoDbStandIn(tables: string[]): Promise<DynamoDbStandIn> {
  const service = createDynamoDbService(tables);
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "DynamoDB_20120810",
    contentType: "application/x-amz-json-1.0",
    operations: service.operations,
  });
  return { ...standIn, item: service.item };
}
