import { createHash, randomUUID } from "crypto";
import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn, type Operation } from "./awsJson";

const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SentMessage {
  queueUrl: string;
  messageId: string;
  body: string;
  attributes: Record<string, string>;
}

/**
 * Sets when a received message is visible again: throws ReceiptHandleIsInvalid for a handle the queue did not give
 * to the message's current receive, MessageNotInflight when the message is visible already.
 */
export type VisibilityChanger = (queueUrl: string, receiptHandle: string, seconds: number) => void;

const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;

function visibilityTimeoutOf(input: Record<string, unknown>, name: string): number {
  const value = input[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 43_200)
    throw new AwsError(
      "InvalidParameterValue",
      `Value ${String(value)} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`,
    );
  return value;
}

/**
 * SQS's SendMessage and ChangeMessageVisibility(Batch), validated as SQS validates them, for the queues `accept`
 * knows; `deliver` stores a message, `changeVisibility` (absent: no message was ever received) checks the handle.
 */
export function createSqsOperations(
  accept: (queueUrl: string) => boolean,
  deliver: (message: SentMessage) => void,
  changeVisibility: VisibilityChanger = () => {
    throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
  },
): Record<string, Operation> {
  const queueOf = (input: Record<string, unknown>): string => {
    const queueUrl = requireString(input, "QueueUrl");
    if (!accept(queueUrl))
      throw new AwsError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    return queueUrl;
  };
  return {
    ChangeMessageVisibility(input) {
      const queueUrl = queueOf(input);
      changeVisibility(
        queueUrl,
        requireString(input, "ReceiptHandle"),
        visibilityTimeoutOf(input, "VisibilityTimeout"),
      );
      return {};
    },
    ChangeMessageVisibilityBatch(input) {
      const queueUrl = queueOf(input);
      const entries = input.Entries;
      if (!Array.isArray(entries) || entries.length === 0)
        throw new AwsError(
          "AWS.SimpleQueueService.EmptyBatchRequest",
          "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.",
        );
      if (entries.length > 10)
        throw new AwsError(
          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
          `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
        );
      const ids = entries.map((entry) => (entry as Record<string, unknown>).Id);
      const badId = ids.find((id) => typeof id !== "string" || !BATCH_ID.test(id));
      if (badId !== undefined)
        throw new AwsError(
          "AWS.SimpleQueueService.InvalidBatchEntryId",
          `A batch entry id ${String(badId)} is invalid.`,
        );
      if (new Set(ids).size !== ids.length)
        throw new AwsError(
          "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
          "Two or more batch entries have the same Id.",
        );
      const Successful: { Id: string }[] = [];
      const Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
      for (const entry of entries as Record<string, unknown>[]) {
        const id = entry.Id as string;
        try {
          changeVisibility(
            queueUrl,
            requireString(entry, "ReceiptHandle"),
            visibilityTimeoutOf(entry, "VisibilityTimeout"),
          );
          Successful.push({ Id: id });
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          Failed.push({ Id: id, Code: error.type, Message: error.message, SenderFault: true });
        }
      }
      return { Successful, Failed };
    },
    SendMessage(input) {
      const queueUrl = queueOf(input);
      const body = requireString(input, "MessageBody");
      const rawAttributes = (input.MessageAttributes ?? {}) as Record<
        string,
        { DataType?: string; StringValue?: string }
      >;
      const names = Object.keys(rawAttributes);
      if (names.length > 10)
        throw new AwsError("InvalidParameterValue", "Number of message attributes exceeds 10");
      const attributes: Record<string, string> = {};
      for (const name of names) {
        const attribute = rawAttributes[name];
        if (attribute?.DataType !== "String" || typeof attribute.StringValue !== "string") {
          throw new AwsError(
            "InvalidParameterValue",
            `Message attribute ${name} must have DataType String and a StringValue`,
          );
        }
        attributes[name] = attribute.StringValue;
      }
      const size =
        Buffer.byteLength(body) +
        names.reduce((total, name) => total + name.length + (attributes[name]?.length ?? 0) + 6, 0);
      if (size > MAX_MESSAGE_BYTES)
        throw new AwsError(
          "InvalidParameterValue",
          `Message must be shorter than ${MAX_MESSAGE_BYTES} bytes`,
        );
      const messageId = randomUUID();
      deliver({ queueUrl, messageId, body, attributes });
      return { MessageId: messageId, MD5OfMessageBody: createHash("md5").update(body).digest("hex") };
    },
  };
}

export interface SqsStandIn extends AwsJsonStandIn {
  queueUrl(name: string): string;
  messages(queueName: string): SentMessage[];
  /**
   * Receives a queue's visible messages as the event source mapping does (visibility timeout 30 s), as the SQS
   * event it invokes the function with: each record with its receipt handle and the queue's ARN.
   */
  receive(queueName: string): { Records: Record<string, unknown>[] };
  /** Seconds until a received message is visible again; 0 when it is visible. */
  invisibleFor(messageId: string): number;
}

const ACCOUNT = "111122223333";

/**
 * SQS over HTTP for the queues it was started with; messages to any other queue are refused. A queue is known by
 * its account and name, whatever the host of its URL (the function's client sends to its endpoint).
 */
export async function startSqsStandIn(queueNames: string[]): Promise<SqsStandIn> {
  const sent: SentMessage[] = [];
  const nameOf = (queueUrl: string): string | undefined => {
    const match = /\/(\d{12})\/([\w-]+)$/.exec(queueUrl);
    return match !== null && match[1] === ACCOUNT && queueNames.includes(match[2] ?? "")
      ? match[2]
      : undefined;
  };
  const inFlight = new Map<string, { receiptHandle: string; visibleAt: number; receives: number }>();
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "AmazonSQS",
    contentType: "application/x-amz-json-1.0",
    operations: createSqsOperations(
      (queueUrl) => nameOf(queueUrl) !== undefined,
      (message) => sent.push(message),
      (queueUrl, receiptHandle, seconds) => {
        const message = sent.find(
          (candidate) =>
            nameOf(candidate.queueUrl) === nameOf(queueUrl) &&
            inFlight.get(candidate.messageId)?.receiptHandle === receiptHandle,
        );
        const state = message === undefined ? undefined : inFlight.get(message.messageId);
        if (state === undefined)
          throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
        if (state.visibleAt <= Date.now())
          throw new AwsError("AWS.SimpleQueueService.MessageNotInflight", "The message is not in flight.");
        state.visibleAt = Date.now() + seconds * 1000;
      },
    ),
  });
  return {
    ...standIn,
    queueUrl(name) {
      if (!queueNames.includes(name)) throw new Error(`no queue ${name}`);
      return `${standIn.endpoint}/${ACCOUNT}/${name}`;
    },
    messages: (queueName) => sent.filter((message) => nameOf(message.queueUrl) === queueName),
    receive(queueName) {
      const now = Date.now();
      const visible = sent.filter(
        (message) =>
          nameOf(message.queueUrl) === queueName && (inFlight.get(message.messageId)?.visibleAt ?? 0) <= now,
      );
      return {
        Records: visible.map((message) => {
          const receives = (inFlight.get(message.messageId)?.receives ?? 0) + 1;
          const receiptHandle = randomUUID();
          inFlight.set(message.messageId, { receiptHandle, visibleAt: now + 30_000, receives });
          return {
            messageId: message.messageId,
            receiptHandle,
            body: message.body,
            attributes: { ApproximateReceiveCount: String(receives) },
            eventSource: "aws:sqs",
            eventSourceARN: `arn:aws:sqs:us-east-1:${ACCOUNT}:${queueName}`,
            awsRegion: "us-east-1",
          };
        }),
      };
    },
    invisibleFor(messageId) {
      return Math.max(0, ((inFlight.get(messageId)?.visibleAt ?? 0) - Date.now()) / 1000);
    },
  };
}
