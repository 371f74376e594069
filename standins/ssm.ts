import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn, type Operation } from "./awsJson";

export interface SsmService {
  operations: Record<string, Operation>;
  putParameter(name: string, value: string, type?: "String" | "SecureString"): void;
}

/** SSM Parameter Store's GetParameter, with SecureString values encrypted unless WithDecryption is true. */
export function createSsmService(region = "us-east-1"): SsmService {
  const parameters = new Map<string, { value: string; type: string; version: number }>();
  return {
    operations: {
      GetParameter(input) {
        const name = requireString(input, "Name");
        const parameter = parameters.get(name);
        if (parameter === undefined) throw new AwsError("ParameterNotFound", "");
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
    putParameter(name, value, type = "SecureString") {
      const version = (parameters.get(name)?.version ?? 0) + 1;
      parameters.set(name, { value, type, version });
    },
  };
}

export type SsmStandIn = AwsJsonStandIn & Pick<SsmService, "putParameter">;

/** The SSM service over HTTP, for @aws-sdk/client-ssm pointed at it through its endpoint setting. */
export async function startSsmStandIn(region = "us-east-1"): Promise<SsmStandIn> {
  const service = createSsmService(region);
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "AmazonSSM",
    contentType: "application/x-amz-json-1.1",
    operations: service.operations,
  });
  return { ...standIn, putParameter: service.putParameter };
}
