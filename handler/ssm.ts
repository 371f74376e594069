import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { ParameterReader } from "./secretParameter";

export function createSsmReader(client: SSMClient): ParameterReader {
  return async (name) => {
    const output = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = output.Parameter?.Value;
    if (value === undefined) throw new Error(`parameter "${name}" has no value`);
    return value;
  };
}
