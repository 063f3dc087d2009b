ALTER TABLE users DROP COLUMN notify_announcements;
