/**
 * Tokens for one-click unsubscribe links (RFC 8058): `<userId>.<HMAC>`, stateless and without expiry,
 * as mail clients expect; one only turns a user's review mails off, so a leaked link can do no more.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../../shared/utils/ids.js';

export class UnsubscribeTokens {
  constructor(private readonly secret: Buffer) {}

  private mac(userId: string): string {
    return createHmac('sha256', this.secret).update(`unsubscribe|${userId}`).digest('base64url').slice(0, 32);
  }

  make(userId: string): string {
    return `${userId}.${this.mac(userId)}`;
  }

  /** The user a token names, or undefined when it is not one of ours. */
  verify(token: string): string | undefined {
    const [userId, mac] = token.split('.');
    if (!userId || !mac || !isUuid(userId)) return undefined;
    const expected = Buffer.from(this.mac(userId));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? userId : undefined;
  }
}
