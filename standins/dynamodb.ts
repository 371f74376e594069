import { AwsError, requireString, type Operation } from "./awsJson";

type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface DynamoDbService {
  operations: Record<string, Operation>;
  item(table: string, id: string): Item | undefined;
}

/**
 * DynamoDB's GetItem, BatchGetItem and PutItem on tables keyed by a string "id", in process and fast, for the benchmark. It
 * evaluates the two condition forms the project's stores write, attribute_not_exists(id) and an equality of one
 * attribute (by name or #alias) with a number; any other expression is refused rather than guessed at. The
 * stores themselves are proven against dynalite, a full implementation of DynamoDB's API, in the tests.
 * Items are kept as their JSON text: a copy nobody can alter by reference, and compact enough for the millions of
 * items an organization's estate leaves in the table.
 */
export function createDynamoDbService(
  tables: string[],
  options: {
    /** Leaves a key of a BatchGetItem unprocessed, as DynamoDB does when throttled or past 16 MB. */
    unprocessed?: (id: string) => boolean;
  } = {},
): DynamoDbService {
  const data = new Map(tables.map((table) => [table, new Map<string, string>()]));
  const parse = (text: string | undefined): Item | undefined =>
    text === undefined ? undefined : (JSON.parse(text) as Item);
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
        const item = parse(table.get(id));
        return item === undefined ? {} : { Item: item };
      },
      // Up to 100 distinct keys, ConsistentRead per table; found items in no particular order, missing keys absent.
      BatchGetItem(input) {
        const requests = input.RequestItems as Record<string, { Keys?: Item[] }> | undefined;
        if (requests === undefined || Object.keys(requests).length === 0)
          throw new AwsError(
            "ValidationException",
            "The requestItems parameter is required for BatchGetItem",
          );
        const all = Object.values(requests).flatMap((request) => request.Keys ?? []);
        if (all.length === 0 || all.length > 100)
          throw new AwsError(
            "ValidationException",
            all.length === 0
              ? "1 validation error detected: Value at 'requestItems' failed to satisfy constraint"
              : "Too many items requested for the BatchGetItem call",
          );
        const responses: Record<string, Item[]> = {};
        const unprocessed: Record<string, { Keys: Item[]; ConsistentRead?: boolean }> = {};
        for (const [name, request] of Object.entries(requests)) {
          const table = tableOf({ TableName: name });
          const ids = (request.Keys ?? []).map((key) => key.id?.S);
          if (!ids.every((id): id is string => typeof id === "string"))
            throw new AwsError("ValidationException", "The provided key element does not match the schema");
          if (new Set(ids).size !== ids.length)
            throw new AwsError("ValidationException", "Provided list of item keys contains duplicates");
          responses[name] = [];
          for (const id of ids) {
            if (options.unprocessed?.(id) === true) {
              const left = (unprocessed[name] ??= { ...request, Keys: [] });
              left.Keys.push({ id: { S: id } });
              continue;
            }
            const item = parse(table.get(id));
            if (item !== undefined) responses[name].push(item);
          }
        }
        return { Responses: responses, UnprocessedKeys: unprocessed };
      },
      PutItem(input) {
        const table = tableOf(input);
        const item = input.Item as Item | undefined;
        const id = item?.id?.S;
        if (item === undefined || typeof id !== "string") {
          throw new AwsError("ValidationException", "One of the required keys was not given a value");
        }
        const condition = input.ConditionExpression;
        // Only a condition on an attribute needs the current item read back from its text.
        const text = table.get(id);
        const current =
          condition === undefined || condition === "attribute_not_exists(id)" ? undefined : parse(text);
        const values = (input.ExpressionAttributeValues ?? {}) as Item;
        const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
        const equality = typeof condition === "string" ? /^(#?\w+) = (:\w+)$/.exec(condition) : null;
        let holds: boolean;
        if (condition === undefined) holds = true;
        else if (condition === "attribute_not_exists(id)") holds = text === undefined;
        else if (equality !== null && values[equality[2] ?? ""]?.N !== undefined) {
          const [, reference = "", placeholder = ""] = equality;
          const attribute = reference.startsWith("#") ? names[reference] : reference;
          if (attribute === undefined)
            throw new AwsError(
              "ValidationException",
              `An expression attribute name used in the document path is not defined; attribute name: ${reference}`,
            );
          const stored = current?.[attribute]?.N;
          holds = stored !== undefined && Number(stored) === Number(values[placeholder]?.N);
        } else {
          throw new AwsError("ValidationException", `Unsupported ConditionExpression: ${String(condition)}`);
        }
        if (!holds) {
          const old =
            input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" ? (current ?? parse(text)) : undefined;
          throw new AwsError(
            "ConditionalCheckFailedException",
            "The conditional request failed",
            400,
            old === undefined ? {} : { Item: old },
          );
        }
        table.set(id, JSON.stringify(item));
        return {};
      },
    },
    item: (table, id) => parse(data.get(table)?.get(id)),
  };
}
