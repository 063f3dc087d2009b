-- Two-factor sign-in (TOTP, RFC 6238) and new-device mail.
--
-- mfa_factors: one row per TOTP authenticator; `activated_at` NULL while enrolment waits for its first
-- code. The secret is stored encrypted (AES-256-GCM, key from mfa.encryptionKey): version byte, 12-byte
-- IV, 16-byte tag, ciphertext; the factor and user ids are its associated data, so a ciphertext copied
-- to another row does not decrypt. `last_used_step` is the last accepted time step (unix time / 30): a
-- code is accepted only by `UPDATE ... WHERE last_used_step < $step`, so each code works once.
CREATE TABLE mfa_factors (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind            text NOT NULL DEFAULT 'totp' CHECK (kind IN ('totp')),
  secret_enc      bytea NOT NULL,
  last_used_step  bigint NOT NULL DEFAULT 0,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  activated_at    timestamptz(3),
  last_used_at    timestamptz(3)
);
CREATE INDEX mfa_factors_user_idx ON mfa_factors (user_id, created_at);
-- At most one active TOTP factor per account.
CREATE UNIQUE INDEX mfa_factors_one_active_idx ON mfa_factors (user_id) WHERE activated_at IS NOT NULL;

-- Recovery codes: HMAC-SHA-256 (server secret) of the normalised code; used once.
CREATE TABLE mfa_recovery_codes (
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash   bytea NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  used_at     timestamptz(3),
  PRIMARY KEY (user_id, code_hash)
);

-- A password (or identity provider) accepted for an account with MFA on: the second step's ticket.
-- Only the SHA-256 of the mfaToken is stored; used once, 5 minutes by default.
CREATE TABLE mfa_challenges (
  id          uuid PRIMARY KEY,
  token_hash  bytea NOT NULL UNIQUE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  amr         text[] NOT NULL,
  event       text NOT NULL DEFAULT 'login',
  ip          text,
  user_agent  text,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  expires_at  timestamptz(3) NOT NULL,
  used_at     timestamptz(3)
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- Devices an account signed in from: HMAC of (user-agent without version numbers, IP /24 or /48). A
-- sign-in from a device not seen for 90 days mails the owner (never on the account's first sign-in).
CREATE TABLE known_devices (
  user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  device_hash    bytea NOT NULL,
  first_seen_at  timestamptz(3) NOT NULL DEFAULT now(),
  last_seen_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, device_hash)
);
