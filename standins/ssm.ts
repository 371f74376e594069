import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn, type Operation } from "./awsJson";

export interface SsmService {
  /** As the wire carries them (LastModifiedDate in epoch seconds). */
  operations: Record<string, Operation>;
  /** As the AWS SDK hands them to its caller (LastModifiedDate a Date), for the in-process client. */
  sdkOperations: Record<string, Operation>;
  putParameter(name: string, value: string, type?: "String" | "SecureString"): void;
}

interface Version {
  value: string;
  type: string;
  version: number;
  /** Epoch ms. */
  modifiedAt: number;
}

/**
 * SSM Parameter Store's GetParameter, with SecureString values encrypted unless WithDecryption is true. Every put
 * is a new version; `NAME:VERSION` selects one (SSM keeps a parameter's last 100), an unknown one is an error.
 */
export function createSsmService(region = "us-east-1", now: () => number = Date.now): SsmService {
  const parameters = new Map<string, Version[]>();
  const operations: Record<string, Operation> = {
    GetParameter(input) {
      const [name = "", selector] = requireString(input, "Name").split(":");
      const history = parameters.get(name);
      if (history === undefined) throw new AwsError("ParameterNotFound", "");
      const parameter =
        selector === undefined ? history.at(-1) : history.find(({ version }) => String(version) === selector);
      if (parameter === undefined)
        throw new AwsError("ParameterVersionNotFound", `Systems Manager could not find version ${selector}`);
      const encrypted = parameter.type === "SecureString" && input.WithDecryption !== true;
      return {
        Parameter: {
          Name: name,
          Type: parameter.type,
          Value: encrypted ? Buffer.from(`kms:${parameter.value}`).toString("base64") : parameter.value,
          Version: parameter.version,
          ...(selector === undefined ? {} : { Selector: `:${selector}` }),
          ARN: `arn:aws:ssm:${region}:111122223333:parameter/${name.replace(/^\//, "")}`,
          DataType: "text",
          LastModifiedDate: parameter.modifiedAt / 1000,
        },
      };
    },
  };
  return {
    operations,
    sdkOperations: {
      async GetParameter(input) {
        const output = (await operations.GetParameter?.(input)) as {
          Parameter: { LastModifiedDate: number };
        };
        const date = new Date(output.Parameter.LastModifiedDate * 1000);
        return { Parameter: { ...output.Parameter, LastModifiedDate: date } };
      },
    },
    putParameter(name, value, type = "SecureString") {
      const history = parameters.get(name) ?? [];
      history.push({ value, type, version: history.length + 1, modifiedAt: now() });
      parameters.set(name, history.slice(-100));
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
