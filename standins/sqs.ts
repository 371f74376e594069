import { createHash, randomUUID } from "crypto";
import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn, type Operation } from "./awsJson";

const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SentMessage {
  queueUrl: string;
  messageId: string;
  body: string;
  attributes: Record<string, string>;
}

/** SQS's SendMessage, validated as SQS validates it, for the queues `accept` knows; `deliver` stores the message. */
export function createSqsOperations(
  accept: (queueUrl: string) => boolean,
  deliver: (message: SentMessage) => void,
): Record<string, Operation> {
  return {
    SendMessage(input) {
      const queueUrl = requireString(input, "QueueUrl");
      const body = requireString(input, "MessageBody");
      if (!accept(queueUrl)) {
        throw new AwsError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
      }
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
}

/**
 * SQS over HTTP for the queues it was started with; messages to any other queue are refused. Queue URLs point at
 * the stand-in itself, as the SDK sends to the host of the queue URL.
 */
export async function startSqsStandIn(queueNames: string[]): Promise<SqsStandIn> {
  const urls = new Map<string, string>();
  const sent: SentMessage[] = [];
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "AmazonSQS",
    contentType: "application/x-amz-json-1.0",
    operations: createSqsOperations(
      (queueUrl) => urls.has(queueUrl),
      (message) => sent.push(message),
    ),
  });
  for (const name of queueNames) urls.set(`${standIn.endpoint}/111122223333/${name}`, name);
  return {
    ...standIn,
    queueUrl(name) {
      const url = [...urls].find(([, queue]) => queue === name)?.[0];
      if (url === undefined) throw new Error(`no queue ${name}`);
      return url;
    },
    messages: (queueName) => sent.filter((message) => urls.get(message.queueUrl) === queueName),
  };
}
