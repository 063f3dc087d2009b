DROP TRIGGER courses_sync_rankings_update ON courses;
DROP TRIGGER courses_sync_rankings_insert ON courses;
DROP FUNCTION courses_sync_rankings();

CREATE FUNCTION courses_sync_popularity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO course_popularity (course_id, published, category_key, enrolment_count, rating_count)
    VALUES (NEW.id, NEW.status = 'published', lower(NEW.category), NEW.enrolment_count, NEW.rating_count);
  ELSE
    UPDATE course_popularity
       SET published = NEW.status = 'published', category_key = lower(NEW.category),
           enrolment_count = NEW.enrolment_count, rating_count = NEW.rating_count
     WHERE course_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE INDEX courses_published_rating_idx ON courses (rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_rating_idx ON courses (lower(category), rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
DROP INDEX course_rankings_category_rating_idx;
DROP INDEX course_rankings_published_rating_idx;
ALTER TABLE course_rankings DROP COLUMN rating_avg;

ALTER TABLE course_rankings RENAME CONSTRAINT course_rankings_course_id_fkey TO course_popularity_course_id_fkey;
ALTER INDEX course_rankings_category_popular_idx RENAME TO course_popularity_category_idx;
ALTER INDEX course_rankings_published_popular_idx RENAME TO course_popularity_published_idx;
ALTER INDEX course_rankings_pkey RENAME TO course_popularity_pkey;
ALTER TABLE course_rankings RENAME TO course_popularity;

CREATE TRIGGER courses_sync_popularity_insert
  AFTER INSERT ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_sync_popularity();
CREATE TRIGGER courses_sync_popularity_update
  AFTER UPDATE OF status, category, enrolment_count, rating_count ON courses
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category IS DISTINCT FROM NEW.category
        OR OLD.enrolment_count <> NEW.enrolment_count OR OLD.rating_count <> NEW.rating_count)
  EXECUTE FUNCTION courses_sync_popularity();
