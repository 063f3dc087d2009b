DROP TABLE IF EXISTS courses;
DROP FUNCTION IF EXISTS courses_before_write();
