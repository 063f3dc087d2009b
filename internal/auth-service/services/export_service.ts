/**
 * The GDPR export (art. 20): one JSON document of everything both services hold about the caller:
 * profile and preferences, sessions (no secrets), security events, which mails were sent (not their
 * links), and course-service's part fetched from its internal API with auth-service's service token.
 * No hashes, secrets or other people's data. course-service unreachable: 503
 * `course_service_unavailable`, never a partial document. A delivered export records `data_exported`.
 */
import type { Database } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import type { AccountExport } from '../models/gdpr_schemas.js';
import { toProfile } from '../models/user.js';
import type { DeletionRepository } from '../repository/deletion_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { RequestMeta } from './auth_service.js';
import { CourseServiceUnavailable, type CourseClient } from './course_client.js';
import { requireRecentAuthentication } from './step_up.js';

export interface ExportServiceDeps {
  db: Database;
  /** Whether the account has a second factor on (step-up then needs aal2); absent = never. */
  mfaEnabled?: (userId: string) => Promise<boolean>;
  users: UserRepository;
  data: DeletionRepository;
  securityEvents: SecurityEventRepository;
  courses: Pick<CourseClient, 'exportUser'>;
  logger: Logger;
}

const iso = (d: Date | null): string | null => (d === null ? null : new Date(d).toISOString());

export class ExportService {
  constructor(private readonly d: ExportServiceDeps) {}

  async export(principal: Principal, meta: RequestMeta & { requestId?: string }): Promise<AccountExport> {
    requireRecentAuthentication(principal, { mfaEnabled: (await this.d.mfaEnabled?.(principal.sub)) ?? false });
    const user = await this.d.users.findById(principal.sub);
    if (!user || user.disabled_at) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
    let courseService: Record<string, unknown>;
    try {
      courseService = await this.d.courses.exportUser(user.id, meta.requestId);
    } catch (err) {
      if (!(err instanceof CourseServiceUnavailable)) throw err;
      this.d.logger.warn({ reason: err.message }, 'export: course-service did not answer');
      throw new HttpError(503, 'course_service_unavailable', {
        detail: 'Your course data cannot be read right now, so no export was made; try again shortly',
        headers: { 'retry-after': '30' },
        cause: err,
      });
    }
    const [sessions, events, mails] = await Promise.all([
      this.d.data.sessionsOf(user.id),
      this.d.data.securityEventsOf(user.id),
      this.d.data.mailsOf(user.id),
    ]);
    const document: AccountExport = {
      format: 'course-platform-export/1',
      exportedAt: new Date().toISOString(),
      profile: toProfile(user),
      sessions: sessions.map((s) => ({
        id: s.id,
        userAgent: s.user_agent,
        ip: s.ip,
        createdAt: s.created_at.toISOString(),
        lastUsedAt: s.last_used_at.toISOString(),
        expiresAt: s.expires_at.toISOString(),
        revokedAt: iso(s.revoked_at),
        revokedReason: s.revoked_reason,
        authenticatedAt: s.authenticated_at.toISOString(),
        aal: s.aal,
        amr: s.amr,
      })),
      securityEvents: events.map((e) => ({
        id: e.id,
        event: e.event,
        ip: e.ip,
        userAgent: e.user_agent,
        sessionId: e.session_id,
        details: e.details,
        createdAt: e.created_at.toISOString(),
      })),
      mails: mails.map((m) => ({
        id: m.id,
        recipient: m.recipient,
        template: m.template,
        locale: m.locale,
        status: m.status,
        createdAt: m.created_at.toISOString(),
        sentAt: iso(m.sent_at),
      })),
      courseService,
    };
    await this.d.securityEvents.record({ userId: user.id, event: 'data_exported', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid });
    return document;
  }
}
