import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn } from "./awsJson";

export interface SsmStandIn extends AwsJsonStandIn {
  putParameter(name: string, value: string, type?: "String" | "SecureString"): void;
}

/** SSM Parameter Store's GetParameter, for @aws-sdk/client-ssm pointed at it through its endpoint setting. */
export async function startSsmStandIn(region = "us-east-1"): Promise<SsmStandIn> {
  const parameters = new Map<string, { value: string; type: string; version: number }>();
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "AmazonSSM",
    contentType: "application/x-amz-json-1.1",
    operations: {
      GetParameter(input) {
        const name = requireString(input, "Name");
        const parameter = parameters.get(name);
        if (parameter === undefined) throw new AwsError("ParameterNotFound", "");
        // Without WithDecryption a SecureString comes back encrypted, as it does from SSM.
        const encrypted = parameter.type === "SecureString" && input.WithDecryption !== true;
        return {
          Parameter: {
            Name: name,
            Type: parameter.type,
            Value: encrypted ? Buffer.from(`kms:${parameter.value}`).toString("base64") : parameter.value,
            Version: parameter.version,
            ARN: `arn:aws:ssm:${region}:111122223333:parameter/${name.replace(/^\//, "")}`,
            DataType: "text",
            LastModifiedDate: 1_700_000_000,
          },
        };
      },
    },
  });
  return {
    ...standIn,
    putParameter(name, value, type = "SecureString") {
      const version = (parameters.get(name)?.version ?? 0) + 1;
      parameters.set(name, { value, type, version });
    },
  };
}
