-- The revocation feed (issue 18): every ended session and every disabled or deleted account becomes a
-- row here, written by triggers in the transaction that ends it, so every code path feeds it. course-
-- service replicas read it (GET /api/v1/internal/revocations) and refuse the tokens it names until
-- they would have expired anyway (`expires_at` = the event + access-token lifetime + skew).
--
-- Order: a reader resumes after (xid, seq). `seq` alone is not enough: sequence numbers are taken
-- before commit, so a row with a smaller seq can become visible after a larger one. `xid` is the
-- writing transaction's id; a reader advances its cursor only past rows whose transaction is older
-- than every transaction still running (pg_snapshot_xmin), and every later commit has a larger xid.
CREATE TABLE revocations (
  seq         bigserial PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  kind        text NOT NULL CHECK (kind IN ('session', 'user')),
  -- The session id ('session') or the user id ('user'); no foreign key: the account may be gone.
  subject     uuid NOT NULL,
  -- 'user': tokens issued at or before this instant are refused. 'session': when it ended.
  not_before  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocations_cursor_idx ON revocations (xid, seq);
CREATE INDEX revocations_expires_idx ON revocations (expires_at);

-- How long an entry matters: the access-token lifetime plus clock skew, set by auth-service at start
-- (jwt.accessTokenTtlSec + 60 s). One row.
CREATE TABLE revocation_policy (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  keep        interval NOT NULL
);
INSERT INTO revocation_policy (id, keep) VALUES (true, interval '16 minutes');

CREATE FUNCTION revocation_keep() RETURNS interval LANGUAGE sql STABLE AS
$$ SELECT COALESCE((SELECT keep FROM revocation_policy WHERE id), interval '1 hour') $$;

-- A session ends: revoked (logout, password change, admin, reuse, deletion ...) or its row deleted
-- while it could still have live access tokens.
CREATE FUNCTION revocations_on_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
      INSERT INTO revocations (kind, subject, not_before, expires_at)
      VALUES ('session', NEW.id, now(), now() + revocation_keep());
    END IF;
    RETURN NEW;
  END IF;
  IF OLD.revoked_at IS NULL AND OLD.expires_at > now() THEN
    INSERT INTO revocations (kind, subject, not_before, expires_at)
    VALUES ('session', OLD.id, now(), now() + revocation_keep());
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER sessions_revocations_update AFTER UPDATE OF revoked_at ON sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION revocations_on_session();
CREATE TRIGGER sessions_revocations_delete AFTER DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION revocations_on_session();

-- An account is disabled or deleted: every token issued to it until now is refused.
CREATE FUNCTION revocations_on_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.disabled_at IS NULL AND NEW.disabled_at IS NOT NULL THEN
      INSERT INTO revocations (kind, subject, not_before, expires_at)
      VALUES ('user', NEW.id, now(), now() + revocation_keep());
    END IF;
    RETURN NEW;
  END IF;
  INSERT INTO revocations (kind, subject, not_before, expires_at)
  VALUES ('user', OLD.id, now(), now() + revocation_keep());
  RETURN OLD;
END $$;
CREATE TRIGGER users_revocations_update AFTER UPDATE OF disabled_at ON users
  FOR EACH ROW WHEN (OLD.disabled_at IS NULL AND NEW.disabled_at IS NOT NULL) EXECUTE FUNCTION revocations_on_user();
CREATE TRIGGER users_revocations_delete AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION revocations_on_user();
