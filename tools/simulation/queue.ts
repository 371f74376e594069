// An SQS standard queue as the delivery path uses it: messages become invisible for the visibility timeout when
// received, come back when not deleted, and move to the dead-letter queue once received more than
// maxReceiveCount times. Order is first-in first-out among visible messages, as SQS approximately is.

export interface SimMessage {
  id: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  /** The handle of the message's latest receive, which ChangeMessageVisibility must name. */
  receiptHandle?: string;
  attributes: Record<string, string>;
}

export interface SimQueueOptions {
  name: string;
  visibilityTimeoutMs: number;
  maxReceiveCount?: number;
  deadLetters?: SimQueue;
}

export class SimQueue {
  readonly name: string;
  private readonly messages = new Map<string, SimMessage>();
  private counter = 0;

  constructor(private readonly options: SimQueueOptions) {
    this.name = options.name;
  }

  send(body: string, now: number, attributes: Record<string, string> = {}): SimMessage {
    this.counter += 1;
    const message = {
      id: `${this.name}-${this.counter}`,
      body,
      sentAt: now,
      visibleAt: now,
      receiveCount: 0,
      attributes,
    };
    this.messages.set(message.id, message);
    return message;
  }

  /** Up to `max` visible messages, now invisible; those received too often go to the dead-letter queue instead. */
  receive(max: number, now: number): SimMessage[] {
    const received: SimMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      const { maxReceiveCount, deadLetters } = this.options;
      if (
        maxReceiveCount !== undefined &&
        deadLetters !== undefined &&
        message.receiveCount >= maxReceiveCount
      ) {
        this.messages.delete(message.id);
        deadLetters.send(message.body, now, {
          reason: `received ${message.receiveCount} times (maxReceiveCount)`,
        });
        continue;
      }
      message.receiveCount += 1;
      message.receiptHandle = `${message.id}#${message.receiveCount}`;
      message.visibleAt = now + this.options.visibilityTimeoutMs;
      received.push(message);
    }
    return received;
  }

  /** ChangeMessageVisibility: false when the handle is not the message's latest receive, or it is visible again. */
  changeVisibility(receiptHandle: string, seconds: number, now: number): boolean {
    for (const message of this.messages.values()) {
      if (message.receiptHandle !== receiptHandle) continue;
      if (message.visibleAt <= now) return false;
      message.visibleAt = now + seconds * 1000;
      return true;
    }
    return false;
  }

  delete(id: string): void {
    this.messages.delete(id);
  }

  hasVisible(now: number): boolean {
    for (const message of this.messages.values()) if (message.visibleAt <= now) return true;
    return false;
  }

  /** When the next invisible message becomes visible, if any. */
  nextVisibleAt(now: number): number | undefined {
    let next: number | undefined;
    for (const message of this.messages.values()) {
      if (message.visibleAt > now && (next === undefined || message.visibleAt < next))
        next = message.visibleAt;
    }
    return next;
  }

  get size(): number {
    return this.messages.size;
  }

  all(): SimMessage[] {
    return [...this.messages.values()];
  }
}
