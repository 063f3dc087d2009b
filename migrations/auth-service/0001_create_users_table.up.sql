-- Users. The e-mail is stored normalised (trimmed, lower-case) and unique, so lookups are exact.
CREATE TABLE users (
  id                uuid PRIMARY KEY,
  email             text NOT NULL,
  password_hash     text NOT NULL,
  display_name      text NOT NULL,
  role              text NOT NULL DEFAULT 'student' CHECK (role IN ('student', 'instructor', 'admin')),
  locale            text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'ru')),
  email_verified_at timestamptz,
  disabled_at       timestamptz,
  notify_reviews    boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
-- Admin search pages by id (keyset) and filters by role.
CREATE INDEX users_role_id_idx ON users (role, id);
