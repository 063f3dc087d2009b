/**
 * Security activity: what happened to an account, recorded in the transaction of the action. Event names
 * are a contract (clients filter on them, admins search them): add, never rename.
 */
export const SECURITY_EVENTS = [
  'login',
  'login_failed',
  'logout',
  'session_revoked',
  'refresh_token_reused',
  'password_changed',
  'password_reset',
  'email_change_requested',
  'email_changed',
  'email_change_cancelled',
  'mfa_enabled',
  'mfa_disabled',
  'mfa_challenge_failed',
  'mfa_verified',
  'recovery_code_used',
  'recovery_codes_regenerated',
  'reauthenticated',
  'new_device_login',
  'not_me_reported',
  'deletion_requested',
  'deletion_cancelled',
  'data_exported',
  'identity_linked',
  'identity_unlinked',
  'oidc_login',
  // E-mail change engineer (issue 18): events of flows that existed before the list.
  'email_verified',
  'account_disabled',
  'account_enabled',
] as const;
export type SecurityEventName = (typeof SECURITY_EVENTS)[number];

export interface SecurityEventInput {
  userId: string | null;
  event: SecurityEventName;
  ip?: string | null;
  userAgent?: string | null;
  sessionId?: string | null;
  /** Non-secret facts about the event (a provider id, a factor id, a reason); never a token, code or password. */
  details?: Record<string, unknown>;
}

export interface SecurityEventRow {
  id: string;
  user_id: string | null;
  event: SecurityEventName;
  ip: string | null;
  user_agent: string | null;
  session_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}
