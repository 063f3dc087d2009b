DROP TRIGGER courses_sync_rankings_update ON courses;
DROP TRIGGER courses_sync_rankings_insert ON courses;
DROP FUNCTION courses_sync_rankings();

CREATE TABLE course_popularity (
  course_id       uuid PRIMARY KEY REFERENCES courses (id) ON DELETE CASCADE,
  published       boolean NOT NULL,
  category_key    text NOT NULL,
  enrolment_count integer NOT NULL,
  rating_count    integer NOT NULL
);
INSERT INTO course_popularity (course_id, published, category_key, enrolment_count, rating_count)
SELECT course_id, published, category_key, enrolment_count, rating_count FROM course_rankings;
CREATE INDEX course_popularity_published_idx ON course_popularity (enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX course_popularity_category_idx ON course_popularity (category_key, enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX courses_published_rating_idx ON courses (rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_rating_idx ON courses (lower(category), rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
DROP TABLE course_rankings;

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

CREATE TRIGGER courses_sync_popularity_insert
  AFTER INSERT ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_sync_popularity();
CREATE TRIGGER courses_sync_popularity_update
  AFTER UPDATE OF status, category, enrolment_count, rating_count ON courses
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category IS DISTINCT FROM NEW.category
        OR OLD.enrolment_count <> NEW.enrolment_count OR OLD.rating_count <> NEW.rating_count)
  EXECUTE FUNCTION courses_sync_popularity();
