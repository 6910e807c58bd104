/**
 * Dead letters keep the original body byte for byte; the reason travels in headers so an operator can
 * read it with any AMQP tool and re-publish the body once the cause is fixed.
 */
import type { Message, Options } from 'amqplib';

export type DeadLetterStage = 'router' | 'builder';

export interface DeadLetter {
  reason: string;
  detail: string;
  stage: DeadLetterStage;
}

export function deadLetterOptions(msg: Message, letter: DeadLetter, now: number): Options.Publish {
  const original = msg.properties;
  return {
    persistent: true,
    contentType: original.contentType,
    messageId: original.messageId,
    timestamp: original.timestamp,
    headers: {
      ...(original.headers ?? {}),
      'x-chat3-dead-letter-reason': letter.reason,
      'x-chat3-dead-letter-detail': letter.detail.slice(0, 2_000),
      'x-chat3-dead-letter-stage': letter.stage,
      'x-chat3-dead-lettered-at': new Date(now).toISOString(),
      'x-chat3-original-routing-key': original.headers?.['x-chat3-routing-key'] ?? msg.fields.routingKey,
    },
  };
}
