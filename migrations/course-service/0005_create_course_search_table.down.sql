DROP TRIGGER courses_sync_search_update ON courses;
DROP TRIGGER courses_sync_search_insert ON courses;
DROP FUNCTION courses_sync_search();
DROP TABLE course_search;
