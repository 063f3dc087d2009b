DROP TRIGGER IF EXISTS users_revocations_delete ON users;
DROP TRIGGER IF EXISTS users_revocations_update ON users;
DROP TRIGGER IF EXISTS sessions_revocations_delete ON sessions;
DROP TRIGGER IF EXISTS sessions_revocations_update ON sessions;
DROP FUNCTION IF EXISTS revocations_on_user();
DROP FUNCTION IF EXISTS revocations_on_session();
DROP FUNCTION IF EXISTS revocation_keep();
DROP TABLE IF EXISTS revocation_policy;
DROP TABLE IF EXISTS revocations;
