import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import type { ParameterReader } from "./secretParameter";

/** Reads a parameter, or one of its versions (`NAME:VERSION`), decrypted. */
export function createSsmReader(client: SSMClient): ParameterReader {
  return async (name) => {
    const output = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = output.Parameter?.Value;
    if (value === undefined) throw new Error(`parameter "${name}" has no value`);
    const { Version: version, LastModifiedDate: modified } = output.Parameter ?? {};
    return {
      value,
      ...(version === undefined ? {} : { version }),
      ...(modified === undefined ? {} : { modifiedAt: modified.getTime() }),
    };
  };
}
