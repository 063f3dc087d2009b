ALTER TABLE courses RESET (fillfactor);
DROP TRIGGER courses_sync_popularity_update ON courses;
DROP TRIGGER courses_sync_popularity_insert ON courses;
DROP FUNCTION courses_sync_popularity();
CREATE INDEX courses_published_popular_idx ON courses (enrolment_count DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (lower(category), enrolment_count DESC, rating_count DESC, id DESC) WHERE status = 'published';
DROP TABLE course_popularity;
