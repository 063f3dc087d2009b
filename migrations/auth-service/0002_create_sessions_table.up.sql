-- One row per login. The refresh token is not stored: it is derived from (id, generation, secret) with
-- an HMAC under the service's token secret, so a leaked table yields no usable token. `generation`
-- is the rotation counter; a token of an older generation is a reuse.
CREATE TABLE sessions (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret        bytea NOT NULL,
  generation    integer NOT NULL DEFAULT 0,
  rotated_at    timestamptz,
  user_agent    text,
  ip            text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_user_active_idx ON sessions (user_id, created_at DESC) WHERE revoked_at IS NULL;
