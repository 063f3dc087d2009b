/**
 * Tokens for one-click unsubscribe links (RFC 8058), stateless and without expiry, as mail clients
 * expect. Each names one topic and turns only that kind of mail off, so a leaked link can do no more:
 * `<userId>.<HMAC>` for review mails (the form links already sent carry) and
 * `<userId>.<topic>.<HMAC>` for any other topic, the topic inside the HMAC.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../../shared/utils/ids.js';

export const UNSUBSCRIBE_TOPICS = ['reviews', 'announcements'] as const;
export type UnsubscribeTopic = (typeof UNSUBSCRIBE_TOPICS)[number];

export class UnsubscribeTokens {
  constructor(private readonly secret: Buffer) {}

  private mac(userId: string, topic: UnsubscribeTopic): string {
    const input = topic === 'reviews' ? `unsubscribe|${userId}` : `unsubscribe|${topic}|${userId}`;
    return createHmac('sha256', this.secret).update(input).digest('base64url').slice(0, 32);
  }

  make(userId: string, topic: UnsubscribeTopic = 'reviews'): string {
    return topic === 'reviews' ? `${userId}.${this.mac(userId, topic)}` : `${userId}.${topic}.${this.mac(userId, topic)}`;
  }

  /** The user and topic a token names, or undefined when it is not one of ours. */
  verify(token: string): { userId: string; topic: UnsubscribeTopic } | undefined {
    const parts = token.split('.');
    const [userId, topicPart, mac] = parts.length === 2 ? [parts[0], 'reviews', parts[1]] : parts.length === 3 ? parts : [];
    const topic = UNSUBSCRIBE_TOPICS.find((t) => t === topicPart && (t !== 'reviews' || parts.length === 2));
    if (!userId || !mac || !topic || !isUuid(userId)) return undefined;
    const expected = Buffer.from(this.mac(userId, topic));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? { userId, topic } : undefined;
  }
}
