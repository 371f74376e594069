import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface DeadLetter {
  /** The original message body, so that a redrive delivers exactly what arrived. */
  body: string;
  reason: string;
  messageId: string;
}

export type DeadLetterSender = (letter: DeadLetter) => Promise<void>;

// SQS message attributes count against the message size; a reason this long has said all it can.
const REASON_MAX_CHARS = 4000;

export function createSqsDeadLetterSender(client: SQSClient, queueUrl: string): DeadLetterSender {
  return async (letter) => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: letter.body,
        MessageAttributes: {
          reason: { DataType: "String", StringValue: letter.reason.slice(0, REASON_MAX_CHARS) },
          sourceMessageId: { DataType: "String", StringValue: letter.messageId },
        },
      }),
    );
  };
}
