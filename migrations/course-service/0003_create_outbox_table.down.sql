DROP TABLE IF EXISTS course_outbox;
