// An SQS standard queue as the delivery path uses it: messages become invisible for the visibility timeout when
// received, come back when not deleted, and move to the dead-letter queue once received more than
// maxReceiveCount times. Order is first-in first-out among visible messages, as SQS approximately is.
//
// Every operation costs O(1) or O(log n) however many messages wait: an organization's scan queues hundreds of
// thousands of them, and a queue that scanned its messages on every poll made the simulation quadratic.

/** What a message holds: its text, or what makes it when a receiver first reads it (a scan's findings). */
export type MessageBody = string | (() => string);

export interface SimMessage {
  id: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  /** The handle of the message's latest receive, which ChangeMessageVisibility must name. */
  receiptHandle?: string;
  attributes: Record<string, string>;
  /** The message's text; made on first read when the sender deferred it. */
  readonly body: string;
}

export interface SimQueueOptions {
  name: string;
  visibilityTimeoutMs: number;
  maxReceiveCount?: number;
  deadLetters?: SimQueue;
}

class Message implements SimMessage {
  visibleAt: number;
  receiveCount = 0;
  receiptHandle?: string;
  /** Bumped on each receive: a stale copy in the visibility heap is recognised and skipped. */
  generation = 0;
  deleted = false;

  constructor(
    readonly id: string,
    private content: MessageBody,
    readonly sentAt: number,
    readonly attributes: Record<string, string>,
  ) {
    this.visibleAt = sentAt;
  }

  get body(): string {
    if (typeof this.content !== "string") this.content = this.content();
    return this.content;
  }

  /**
   * A deleted message's text is let go at once: stale copies of the message wait in the visibility heap for up to
   * its timeout, and each text kept that long outlives the young generation and fills the old one.
   */
  forget(): void {
    this.deleted = true;
    this.content = "";
  }
}

interface Hidden {
  message: Message;
  generation: number;
}

/** A min-heap of hidden messages by the moment they become visible again. */
class VisibilityHeap {
  private readonly items: Hidden[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Hidden | undefined {
    return this.items[0];
  }

  entries(): readonly Hidden[] {
    return this.items;
  }

  push(item: Hidden): void {
    const { items } = this;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((items[parent] as Hidden).message.visibleAt <= item.message.visibleAt) break;
      items[index] = items[parent] as Hidden;
      index = parent;
    }
    items[index] = item;
  }

  pop(): Hidden | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length &&
        (items[right] as Hidden).message.visibleAt < (items[left] as Hidden).message.visibleAt
          ? right
          : left;
      if ((items[child] as Hidden).message.visibleAt >= last.message.visibleAt) break;
      items[index] = items[child] as Hidden;
      index = child;
    }
    items[index] = last;
    return top;
  }
}

export class SimQueue {
  readonly name: string;
  private live = 0;
  /** Visible messages in arrival order: a ring that only grows at its tail and shrinks at its head. */
  private visible: (Message | undefined)[] = [];
  private head = 0;
  private readonly hidden = new VisibilityHeap();
  /** Received messages by the receipt handle of their latest receive (what ChangeMessageVisibility names). */
  private readonly inFlight = new Map<string, Message>();
  private counter = 0;

  constructor(private readonly options: SimQueueOptions) {
    this.name = options.name;
  }

  send(body: MessageBody, now: number, attributes: Record<string, string> = {}): SimMessage {
    this.counter += 1;
    const message = new Message(`${this.name}-${this.counter}`, body, now, attributes);
    this.live += 1;
    this.visible.push(message);
    return message;
  }

  /** Up to `max` visible messages, now invisible; those received too often go to the dead-letter queue instead. */
  receive(max: number, now: number): SimMessage[] {
    this.reveal(now);
    const received: SimMessage[] = [];
    const { maxReceiveCount, deadLetters } = this.options;
    while (received.length < max && this.head < this.visible.length) {
      const message = this.visible[this.head] as Message;
      this.visible[this.head] = undefined;
      this.head += 1;
      if (message.deleted) continue;
      if (
        maxReceiveCount !== undefined &&
        deadLetters !== undefined &&
        message.receiveCount >= maxReceiveCount
      ) {
        this.forget(message);
        deadLetters.send(message.body, now, {
          reason: `received ${message.receiveCount} times (maxReceiveCount)`,
        });
        continue;
      }
      message.receiveCount += 1;
      message.generation += 1;
      if (message.receiptHandle !== undefined) this.inFlight.delete(message.receiptHandle);
      message.receiptHandle = `${message.id}#${message.receiveCount}`;
      this.inFlight.set(message.receiptHandle, message);
      message.visibleAt = now + this.options.visibilityTimeoutMs;
      this.hidden.push({ message, generation: message.generation });
      received.push(message);
    }
    this.compact();
    return received;
  }

  /** DeleteMessage of a received message. */
  delete(received: SimMessage): void {
    const message = received as Message;
    if (!message.deleted) this.forget(message);
  }

  /**
   * ChangeMessageVisibility of a received message: it becomes visible again `timeoutMs` from now. False when the
   * handle is not the one of the message's latest receive, or the message is visible again.
   */
  changeVisibility(receiptHandle: string, timeoutMs: number, now: number): boolean {
    const message = this.inFlight.get(receiptHandle);
    if (message === undefined || message.deleted || message.visibleAt <= now) return false;
    message.generation += 1;
    message.visibleAt = now + timeoutMs;
    this.hidden.push({ message, generation: message.generation });
    return true;
  }

  hasVisible(now: number): boolean {
    this.reveal(now);
    return this.head < this.visible.length;
  }

  /** About how many messages are visible (deleted ones not yet passed over included), as SQS approximates it. */
  visibleCount(now: number): number {
    this.reveal(now);
    return this.visible.length - this.head;
  }

  /** When the next invisible message becomes visible, if any. */
  nextVisibleAt(now: number): number | undefined {
    this.reveal(now);
    for (let top = this.hidden.peek(); top !== undefined; top = this.hidden.peek()) {
      if (!this.current(top)) {
        this.hidden.pop();
        continue;
      }
      return top.message.visibleAt;
    }
    return undefined;
  }

  get size(): number {
    return this.live;
  }

  /** Every message still in the queue, visible or not. */
  all(): SimMessage[] {
    const visible = this.visible
      .slice(this.head)
      .filter((message): message is Message => message?.deleted === false);
    const hidden = new Set<Message>();
    for (const entry of this.hidden.entries()) if (this.current(entry)) hidden.add(entry.message);
    return [...visible, ...hidden];
  }

  private current(entry: Hidden): boolean {
    return !entry.message.deleted && entry.generation === entry.message.generation;
  }

  /** Hidden messages whose visibility timeout has passed join the visible ones. */
  private reveal(now: number): void {
    for (let top = this.hidden.peek(); top !== undefined && top.message.visibleAt <= now;) {
      this.hidden.pop();
      if (this.current(top)) this.visible.push(top.message);
      top = this.hidden.peek();
    }
  }

  private forget(message: Message): void {
    message.forget();
    this.live -= 1;
    if (message.receiptHandle !== undefined) this.inFlight.delete(message.receiptHandle);
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.visible.length) {
      this.visible = this.visible.slice(this.head);
      this.head = 0;
    }
  }
}

/** Received messages as Lambda's event source mapping hands them to the function. */
export function sqsEventOf(batch: SimMessage[], queueArn: string) {
  return {
    Records: batch.map((message) => ({
      messageId: message.id,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(message.receiveCount) },
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
    })),
  };
}
