/**
 * The check auth-service makes of each access token beyond its signature: its session and account.
 * auth-service can afford it (one indexed read), so logout, password change, disabling and a role change
 * take effect here at once (course-service learns of all but the role change from the revocation feed
 * within 2 s: services/revocation_feed.ts). A token whose role is no longer the account's gets 401 `token_outdated`, so the client refreshes and receives the
 * current role.
 */
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { SessionRepository } from '../repository/session_repository.js';

export class SessionCheck {
  constructor(private readonly sessions: Pick<SessionRepository, 'findLiveWithUser'>) {}

  /** A token without a session (client_credentials) passes; 401 for an ended session or a changed role. */
  async verify(principal: Principal): Promise<void> {
    if (!principal.sid) return;
    const live = await this.sessions.findLiveWithUser(principal.sid);
    if (!live || live.user_id !== principal.sub || live.disabled) {
      throw HttpError.unauthorized('session_revoked', 'This session has ended; log in again');
    }
    if (live.role !== principal.role) throw HttpError.unauthorized('token_outdated', 'Your role has changed; refresh the token');
  }
}
