import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../infra/iamPolicies";
import type { AwsRequest } from "./awsRequests";

// What IAM authorizes for one AWS request, and an evaluation of a role's policy against it with
// @cloud-copilot/iam-simulate, which knows every action's resource types and condition keys from AWS's Service
// Authorization Reference and refuses a request that names an action or resource AWS does not have.

export interface Authorization {
  action: string;
  resource: string;
  /** Condition keys the request carries beyond the principal's (e.g. kms:ViaService). */
  context: Record<string, string>;
  /** The resource's own policy, where one takes part in the decision (a KMS key policy, a queue policy). */
  resourcePolicy?: PolicyDocument;
  /** The call this authorization serves, for failure messages. */
  call: string;
}

/** What the derivation needs to know about the stack beyond the request itself, read from its plan. */
export interface StackFacts {
  account: string;
  /** The KMS key of a SecureString parameter and that key's policy. */
  keyOfParameter(parameterArn: string): { keyArn: string; keyPolicy: PolicyDocument };
  /** A queue's policy, if it has one. */
  queuePolicy(queueArn: string): PolicyDocument | undefined;
}

/** The id AWS gave the new Security Hub when it was enabled in the account and Region (one per Region). */
export const HUB_V2_ID = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

export const arnOf = (service: string, region: string, account: string, resource: string) =>
  `arn:aws:${service}:${region}:${account}:${resource}`;

function text(input: Record<string, unknown>, field: string, call: string): string {
  const value = input[field];
  if (typeof value !== "string" || value === "") throw new Error(`${call} has no ${field}`);
  return value;
}

/**
 * The authorizations AWS checks for a request, per the Service Authorization Reference: the action and the exact
 * resource ARN; for SSM's GetParameter with decryption, also the kms:Decrypt that SSM makes with the caller's
 * credentials (kms:ViaService, and the parameter's ARN as encryption context). A request of an operation not
 * taught here fails, so that a new call is looked up rather than assumed.
 */
export function authorizationsOf(request: AwsRequest, facts: StackFacts): Authorization[] {
  const { service, region, operation, input } = request;
  const call = `${service}:${operation}`;
  const arn = (resource: string, svc = service) => arnOf(svc, region, facts.account, resource);
  switch (call) {
    case "ssm:GetParameter": {
      const name = text(input, "Name", call).replace(/^\//, "");
      const parameterArn = arn(`parameter/${name}`);
      const own: Authorization = { action: call, resource: parameterArn, context: {}, call };
      if (input.WithDecryption !== true) return [own];
      const { keyArn, keyPolicy } = facts.keyOfParameter(parameterArn);
      return [
        own,
        {
          action: "kms:Decrypt",
          resource: keyArn,
          context: {
            "kms:ViaService": `ssm.${region}.amazonaws.com`,
            "kms:CallerAccount": facts.account,
            "kms:EncryptionContext:PARAMETER_ARN": parameterArn,
          },
          resourcePolicy: keyPolicy,
          call: `${call} (SSM decrypts the SecureString on the caller's behalf)`,
        },
      ];
    }
    case "sqs:SendMessage": {
      const [, account, name] = new URL(text(input, "QueueUrl", call)).pathname.split("/");
      const queueArn = arnOf("sqs", region, account ?? "", name ?? "");
      const queuePolicy = facts.queuePolicy(queueArn);
      return [
        {
          action: call,
          resource: queueArn,
          context: {},
          call,
          ...(queuePolicy ? { resourcePolicy: queuePolicy } : {}),
        },
      ];
    }
    case "dynamodb:GetItem":
    case "dynamodb:PutItem":
    case "dynamodb:UpdateItem":
    case "dynamodb:DeleteItem":
      return [{ action: call, resource: arn(`table/${text(input, "TableName", call)}`), context: {}, call }];
    case "dynamodb:BatchGetItem":
    case "dynamodb:BatchWriteItem":
      // Authorized once per table the batch names.
      return Object.keys((input.RequestItems ?? {}) as Record<string, unknown>).map((table) => ({
        action: call,
        resource: arn(`table/${table}`),
        context: {},
        call,
      }));
    case "securityhub:BatchUpdateFindings":
      return [{ action: call, resource: arn("hub/default"), context: {}, call }];
    case "securityhub:BatchUpdateFindingsV2":
      // IAM authorizes the V2 call with securityhub:BatchUpdateFindings, on the new Security Hub's hubv2.
      return [
        { action: "securityhub:BatchUpdateFindings", resource: arn(`hubv2/${HUB_V2_ID}`), context: {}, call },
      ];
    default:
      throw new Error(`the grants test does not know how IAM authorizes ${call}: teach authorizationsOf`);
  }
}

/** The function's execution role, as a session of the function: what its calls are made as. */
export interface FunctionPrincipal {
  account: string;
  region: string;
  roleArn: string;
  roleName: string;
  functionName: string;
  functionArn: string;
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

/** Evaluates the role's policy (and the resource's, if any) against one authorization, in iam-simulate's strict mode. */
export function decide(
  policy: PolicyDocument,
  principal: FunctionPrincipal,
  authorization: Authorization,
): Promise<Decision> {
  return simulate(
    `arn:aws:sts::${principal.account}:assumed-role/${principal.roleName}/${principal.functionName}`,
    [policy],
    {
      "aws:PrincipalArn": principal.roleArn,
      "aws:PrincipalAccount": principal.account,
      "aws:RequestedRegion": authorization.resource.split(":")[3] || principal.region,
      "aws:SecureTransport": "true",
      "lambda:SourceFunctionArn": principal.functionArn,
    },
    authorization,
  );
}

/** A request an AWS service makes as itself (e.g. EventBridge delivering to a queue): only the resource's policy decides. */
export function decideForService(service: string, authorization: Authorization): Promise<Decision> {
  return simulate(service, [], {}, authorization);
}

async function simulate(
  principal: string,
  identityPolicies: PolicyDocument[],
  principalContext: Record<string, string>,
  authorization: Authorization,
): Promise<Decision> {
  const result = await runSimulation(
    {
      request: {
        principal,
        action: authorization.action,
        resource: { resource: authorization.resource, accountId: authorization.resource.split(":")[4] ?? "" },
        contextVariables: { ...principalContext, ...authorization.context },
      },
      identityPolicies: identityPolicies.map((policy, index) => ({ name: `policy-${index + 1}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(authorization.resourcePolicy === undefined ? {} : { resourcePolicy: authorization.resourcePolicy }),
    },
    { simulationMode: "Strict" },
  );
  if (result.resultType === "error")
    throw new Error(
      `${authorization.action} on ${authorization.resource} cannot be evaluated: ${JSON.stringify(result.errors)}`,
    );
  if (result.resultType !== "single") throw new Error(`${authorization.resource} is not one resource`);
  return result.overallResult as Decision;
}
