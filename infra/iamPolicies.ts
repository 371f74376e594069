// Pure: the policy documents of the delivery side, from resolved ARNs. Every statement names its resources;
// none grants SSM, KMS or SQS actions on "*".

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string>;
  Action: string | string[];
  /** Absent only in a trust policy, which names a principal instead. */
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export interface FunctionPolicyInputs {
  region: string;
  logGroupArn: string;
  /** The routing key's parameter of each route, the default route's first. */
  parameterArns: string[];
  /** Only for a customer managed key; the aws/ssm key's own policy already admits SSM on the account's behalf. */
  kmsKeyArn: string | undefined;
  laneQueueArns: string[];
  deadLetterQueueArn: string;
  stateTableArn: string;
  /** The account's Security Hub in this Region (both its hubs), when pages are written back to it. */
  securityHubArns: string[] | undefined;
  /** How account tags and parents are read, when a route needs them: directly, or through the role named. */
  organizations: { roleArn: string | undefined } | undefined;
}

/** The read-only calls the routes need; Organizations accepts them from the management or delegated administrator account only. */
export const ORGANIZATIONS_READS = [
  "organizations:ListTagsForResource",
  "organizations:ListParents",
  "organizations:DescribeOrganizationalUnit",
];

function readOrganizations(organizations: { roleArn: string | undefined }): PolicyStatement {
  // Through a role, the function may only assume that role: the role's own policy grants the reads.
  if (organizations.roleArn !== undefined)
    return {
      Sid: "AssumeOrganizationsReader",
      Effect: "Allow",
      Action: "sts:AssumeRole",
      Resource: organizations.roleArn,
    };
  // Read-only, and the organization's ARNs hold its id, which the stack does not know: these three calls on any.
  return { Sid: "ReadAccountFacts", Effect: "Allow", Action: ORGANIZATIONS_READS, Resource: "*" };
}

export function functionPolicy(inputs: FunctionPolicyInputs): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${inputs.logGroupArn}:*`,
    },
    {
      Sid: "ReadRoutingKey",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: inputs.parameterArns.length === 1 ? (inputs.parameterArns[0] ?? "") : inputs.parameterArns,
    },
    {
      Sid: "ConsumeLanes",
      Effect: "Allow",
      Action: [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
      ],
      Resource: inputs.laneQueueArns,
    },
    { Sid: "DeadLetter", Effect: "Allow", Action: "sqs:SendMessage", Resource: inputs.deadLetterQueueArn },
    {
      Sid: "DeliveryState",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"],
      Resource: inputs.stateTableArn,
    },
  ];
  if (inputs.securityHubArns !== undefined) statements.push(writeToSecurityHub(inputs.securityHubArns));
  if (inputs.organizations !== undefined) statements.push(readOrganizations(inputs.organizations));
  if (inputs.kmsKeyArn !== undefined)
    statements.push(decryptViaSsm("DecryptRoutingKeyViaSsm", inputs.kmsKeyArn, inputs.region));
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * The account's Security Hub in one Region, as IAM names it: Security Hub CSPM's hub ("hub/default"), which
 * BatchUpdateFindings acts on, and the new Security Hub's ("hubv2/<id>"), which BatchUpdateFindingsV2 acts on.
 * AWS assigns the hubv2 id when the new Security Hub is enabled and allows one per Region, so the id is the only
 * wildcard: the grant stays within the account and the Region.
 */
export function securityHubArnsOf(partition: string, region: string, account: string): string[] {
  const prefix = `arn:${partition}:securityhub:${region}:${account}`;
  return [`${prefix}:hub/default`, `${prefix}:hubv2/*`];
}

/**
 * IAM authorizes both BatchUpdateFindings and BatchUpdateFindingsV2 with securityhub:BatchUpdateFindings (the
 * Service Authorization Reference); which hub it is checked against depends on the call.
 */
function writeToSecurityHub(hubArns: string[]): PolicyStatement {
  return {
    Sid: "WriteBackToSecurityHub",
    Effect: "Allow",
    Action: "securityhub:BatchUpdateFindings",
    Resource: hubArns,
  };
}

/** Only for a customer managed key; the aws/ssm key's own policy already admits SSM on the account's behalf. */
function decryptViaSsm(sid: string, kmsKeyArn: string, region: string): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: "kms:Decrypt",
    Resource: kmsKeyArn,
    Condition: { StringEquals: { "kms:ViaService": `ssm.${region}.amazonaws.com` } },
  };
}

export interface WebhookPolicyInputs {
  region: string;
  logGroupArn: string;
  /** The signing secret of each service's subscription (the stack's own first). */
  secretParameterArns: string[];
  kmsKeyArn: string | undefined;
  stateTableArn: string;
  securityHubArns: string[];
}

/** The webhook endpoint reads its signing secret, its state and writes to Security Hub; nothing else. */
export function webhookFunctionPolicy(inputs: WebhookPolicyInputs): PolicyDocument {
  const statements: PolicyStatement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${inputs.logGroupArn}:*`,
    },
    {
      Sid: "ReadSigningSecret",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource:
        inputs.secretParameterArns.length === 1 ? inputs.secretParameterArns[0] : inputs.secretParameterArns,
    },
    {
      Sid: "AlertState",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
      Resource: inputs.stateTableArn,
    },
    writeToSecurityHub(inputs.securityHubArns),
  ];
  if (inputs.kmsKeyArn !== undefined)
    statements.push(decryptViaSsm("DecryptSigningSecretViaSsm", inputs.kmsKeyArn, inputs.region));
  return { Version: "2012-10-17", Statement: statements };
}

export const LAMBDA_ASSUME_ROLE: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

/** Lets EventBridge deliver into a queue, for the named rules only. */
export function queuePolicy(queueArn: string, ruleArns: string[]): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "FromTheseRulesOnly",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
      },
    ],
  };
}
