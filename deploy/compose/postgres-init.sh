#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (docker-entrypoint-initdb.d).
# One database and one login role per service, so neither service can read the other's tables
# (DESIGN section 1). Passwords come from the compose environment (.env), never from this file.
set -eu

: "${AUTH_DB_PASSWORD:?AUTH_DB_PASSWORD is not set}"
: "${COURSE_DB_PASSWORD:?COURSE_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v auth_password="$AUTH_DB_PASSWORD" -v course_password="$COURSE_DB_PASSWORD" <<'SQL'
CREATE ROLE auth_service LOGIN PASSWORD :'auth_password';
CREATE DATABASE auth OWNER auth_service;
REVOKE ALL ON DATABASE auth FROM PUBLIC;

CREATE ROLE course_service LOGIN PASSWORD :'course_password';
CREATE DATABASE courses OWNER course_service;
REVOKE ALL ON DATABASE courses FROM PUBLIC;
SQL
