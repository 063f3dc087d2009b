ALTER TABLE sessions DROP CONSTRAINT sessions_aal_check, DROP COLUMN amr, DROP COLUMN aal, DROP COLUMN authenticated_at;
DROP TABLE security_events;
DELETE FROM one_time_tokens WHERE purpose NOT IN ('verify_email', 'password_reset');
ALTER TABLE one_time_tokens DROP COLUMN details;
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check CHECK (purpose IN ('verify_email', 'password_reset'));
