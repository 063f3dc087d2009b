/**
 * Step-up: sensitive operations (MFA changes, e-mail change, deletion, export) need a recent
 * authentication. The access token's `auth_time` (the session's last login, re-authentication or MFA
 * verification) must be within `maxAgeSec` (15 minutes), and when the account has MFA on, the token
 * must be `aal2`. Otherwise 403 `reauthentication_required`: the client calls
 * `POST /api/v1/auth/reauthenticate` and retries with the fresh pair.
 */
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';

export const STEP_UP_MAX_AGE_SEC = 15 * 60;

export function requireRecentAuthentication(
  principal: Principal,
  options: { mfaEnabled: boolean; maxAgeSec?: number; nowSec?: number },
): void {
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  const maxAge = options.maxAgeSec ?? STEP_UP_MAX_AGE_SEC;
  const recent = principal.authTime !== undefined && now - principal.authTime <= maxAge;
  if (!recent) {
    throw HttpError.forbidden('reauthentication_required', 'Confirm it is you: sign in again or call /api/v1/auth/reauthenticate');
  }
  if (options.mfaEnabled && principal.aal !== 'aal2') {
    throw HttpError.forbidden('reauthentication_required', 'This account uses two-factor sign-in: confirm with a code');
  }
}
