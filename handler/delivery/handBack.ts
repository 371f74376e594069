import { ChangeMessageVisibilityBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { errorText, type Logger } from "../telemetry/log";

// A record handed back to its queue comes back when its visibility timeout ends: six times the function timeout
// unless the function says otherwise. It says when trying again can succeed (after a 429's hold-off, when another
// invocation's send of the finding is done), so that a CRITICAL handed back comes back in seconds.

/** One handed-back record and when it should be received again. */
export interface HandBack {
  /** The record's queue (its event source ARN). */
  queueArn: string;
  receiptHandle: string;
  /** 0 to 43,200, as SQS allows. */
  visibilitySeconds: number;
}

/** Sets when handed-back records are received again; a failure leaves them their queue's visibility timeout. */
export type ReturnToQueue = (handBacks: HandBack[]) => Promise<void>;

/** SQS's longest visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS takes at most ten entries in one batch call. */
const BATCH_ENTRIES = 10;

/** The queue URL of a queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME); the client sends to its own endpoint. */
export function queueUrlOf(queueArn: string): string | undefined {
  const match = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([\w-]{1,80}(\.fifo)?)$/.exec(queueArn);
  if (match === null) return undefined;
  const [, partition, region, account, name] = match;
  const domain = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** Receives whose hand-back comes back exactly when asked; after them, hand-backs back off. */
const PROMPT_RECEIVES = 3;
const BACKOFF_BASE_SECONDS = 60;

/**
 * Pure: the visibility a record handed back at `now` on its `receiveCount`th receive gets, to come back at `retryAt`
 * (or after `fallbackMs`). Each receive counts toward the queue's maxReceiveCount: from the fourth on, the wait
 * doubles from 2 minutes (to 12 h at most), so that a long PagerDuty outage spends the receives over hours, not minutes.
 * A record `queued` behind its key's send schedule comes back at its slot whatever its receives: nothing is failing,
 * and a backoff would leave the schedule idle while the record waits out minutes it does not need to.
 */
export function visibilitySecondsFor(
  retryAt: number | undefined,
  now: number,
  fallbackMs: number,
  receiveCount: number,
  queued = false,
): number {
  const asked = Math.ceil((retryAt === undefined ? fallbackMs : retryAt - now) / 1000);
  const backoff =
    queued || receiveCount <= PROMPT_RECEIVES
      ? 0
      : BACKOFF_BASE_SECONDS * 2 ** (receiveCount - PROMPT_RECEIVES);
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, asked, backoff));
}

export function createSqsReturnToQueue(client: () => SQSClient, log: Logger): ReturnToQueue {
  return async (handBacks) => {
    const byQueue = new Map<string, HandBack[]>();
    for (const handBack of handBacks) {
      const list = byQueue.get(handBack.queueArn) ?? [];
      list.push(handBack);
      byQueue.set(handBack.queueArn, list);
    }
    for (const [queueArn, list] of byQueue) {
      const queueUrl = queueUrlOf(queueArn);
      if (queueUrl === undefined) {
        log.warn("handed-back records keep their visibility timeout", {
          queueArn,
          reason: "not an SQS queue ARN",
        });
        continue;
      }
      for (let start = 0; start < list.length; start += BATCH_ENTRIES) {
        const entries = list.slice(start, start + BATCH_ENTRIES).map((handBack, index) => ({
          Id: String(start + index),
          ReceiptHandle: handBack.receiptHandle,
          VisibilityTimeout: handBack.visibilitySeconds,
        }));
        try {
          const output = await client().send(
            new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
          );
          for (const failed of output.Failed ?? [])
            log.warn("handed-back record keeps its visibility timeout", { queueArn, error: failed.Code });
        } catch (error) {
          log.warn("handed-back records keep their visibility timeout", {
            queueArn,
            error: errorText(error),
          });
        }
      }
    }
  };
}
