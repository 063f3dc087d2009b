-- Accounts without a password get an unusable marker (no argon2 hash verifies against it): they keep
-- their data and can still set a password through a reset.
UPDATE users SET password_hash = '!no-password' WHERE password_hash IS NULL;
ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;
DROP TABLE user_identities;
