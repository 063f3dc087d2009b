/**
 * New-device mail. A device is what an API can see without a cookie: the user agent with
 * its version numbers taken out (a browser update is not a new device) and the network the request
 * came from (IPv4 /24, IPv6 /48). Only an HMAC of that pair (keyed with the server secret and bound
 * to the user) is stored. A sign-in from a device not seen for `rememberDays` mails the owner, with a
 * "this was not me" link; the account's very first sign-in mails nothing.
 *
 * The link (one-time token purpose `not_me`) opens a page; its button posts the token, which ends every
 * session of the account and mails a password-reset link.
 */
import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import type { UserRow } from '../models/user.js';
import type { MfaRepository } from '../repository/mfa_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { TokenRepository } from '../repository/token_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { AuthService, DeviceTracker, RequestMeta } from './auth_service.js';
import type { NotificationService } from './notification_service.js';
import { hashOneTimeToken, newOneTimeToken, tokenLink } from './token_service.js';

/** The network part of an address: IPv4 /24, IPv6 /48 (an IPv4-mapped IPv6 address counts as IPv4). */
export function networkOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1]! : ip;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(ip)) {
    const [head = '', tail = ''] = ip.toLowerCase().split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
    return `${groups.slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return ip;
}

/** The user agent without version numbers: "Mozilla/ (X; Linux x_) ... Firefox/" for every Firefox release. */
export function agentFamily(userAgent: string | null): string {
  return (userAgent ?? '').toLowerCase().replace(/[0-9][0-9._]*/g, '').replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** A short, readable name of the device for the mail ("Firefox on Linux"); falls back to the agent's start. */
export function describeDevice(userAgent: string | null): string {
  const ua = userAgent ?? '';
  const browser = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad|iOS/.test(ua) ? 'iOS' : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return `${browser}, ${os}`;
  return ua.slice(0, 80) || 'unknown device';
}

export interface NewDeviceRules {
  enabled: boolean;
  rememberDays: number;
  notMeTokenTtlHours: number;
  /** The page behind the "this was not me" link. */
  notMeLink: string;
}

export class NewDevices implements DeviceTracker {
  constructor(
    private readonly d: {
      mfa: MfaRepository;
      tokens: TokenRepository;
      securityEvents: SecurityEventRepository;
      notifications: NotificationService;
      hmacKey: Buffer;
      rules: NewDeviceRules;
    },
  ) {}

  deviceHash(userId: string, meta: RequestMeta): Buffer {
    return createHmac('sha256', this.d.hmacKey).update(`device:${userId}:${agentFamily(meta.userAgent)}:${networkOf(meta.ip)}`).digest();
  }

  async seen(tx: Queryable, user: UserRow, meta: RequestMeta, sessionId: string): Promise<void> {
    if (!this.d.rules.enabled) return;
    const { hadAny, lastSeenAt } = await this.d.mfa.touchDevice(user.id, this.deviceHash(user.id, meta), tx);
    if (!hadAny) return; // The account's first sign-in: nothing to compare with.
    const rememberMs = this.d.rules.rememberDays * 86_400_000;
    if (lastSeenAt && Date.now() - lastSeenAt.getTime() < rememberMs) return;
    const device = describeDevice(meta.userAgent);
    const ttlSec = this.d.rules.notMeTokenTtlHours * 3600;
    const { token, hash } = newOneTimeToken();
    await this.d.tokens.create(hash, user.id, 'not_me', ttlSec, tx);
    await this.d.securityEvents.record(
      { userId: user.id, event: 'new_device_login', ip: meta.ip, userAgent: meta.userAgent, sessionId, details: { device } },
      tx,
    );
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template: 'new_device_login',
      locale: user.locale,
      data: { displayName: user.display_name, signedInAt: new Date().toISOString(), ip: meta.ip, device, notMeLink: tokenLink(this.d.rules.notMeLink, token), validMinutes: ttlSec / 60 },
    });
  }
}

/** "This was not me": ends every session of the account and mails a password-reset link. */
export class NotMeService {
  constructor(
    private readonly d: {
      db: Database;
      users: UserRepository;
      sessions: SessionRepository;
      tokens: TokenRepository;
      securityEvents: SecurityEventRepository;
      auth: AuthService;
    },
  ) {}

  async report(token: string, meta: RequestMeta): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const userId = await this.d.tokens.consume(hashOneTimeToken(token), 'not_me', tx);
      const user = userId ? await this.d.users.findForUpdate(userId, tx) : null;
      if (!user) throw HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired');
      // Every other "not me" link of the account is spent with it: one report does it all.
      await this.d.tokens.invalidateAll(user.id, 'not_me', tx);
      const ended = await this.d.sessions.revokeAllForUser(user.id, 'not_me_reported', {}, tx);
      await this.d.securityEvents.record(
        { userId: user.id, event: 'not_me_reported', ip: meta.ip, userAgent: meta.userAgent, details: { sessionsEnded: ended } },
        tx,
      );
      if (!user.disabled_at) await this.d.auth.queuePasswordReset(tx, user);
    });
  }
}
