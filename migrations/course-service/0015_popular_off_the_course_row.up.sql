-- sort=popular off the wide courses row. Every enrolment and leave moves courses.enrolment_count, a key of
-- the two popular indexes (0011), so the UPDATE could never be HOT: each one wrote a new ~2 kB row version
-- and an entry into all 13 indexes of courses, the two GIN ones (search vector, tags) included. Measured on
-- the 100k-course bench catalogue (pgbench, 4 clients, rolled back): that UPDATE cost ~1.2 ms a time against
-- ~0.15 ms for the same change on a narrow table with the two popular indexes, and it was most of an
-- enrolment's PostgreSQL time.
--
-- Now the popular order lives in course_popularity, one narrow row per course (the sort keys, whether the
-- course is published, its category for the per-category order), kept equal to the course row by a
-- trigger in the same transaction, so every writer (enrolment, leave, review, status or category change,
-- account deletion) stays as it was and the order is exact. courses keeps enrolment_count for display;
-- with no index on it and room on its pages (fillfactor 85) its counter updates can be HOT.

CREATE TABLE course_popularity (
  course_id       uuid PRIMARY KEY REFERENCES courses (id) ON DELETE CASCADE,
  published       boolean NOT NULL,
  category_key    text NOT NULL,
  enrolment_count integer NOT NULL,
  rating_count    integer NOT NULL
);

INSERT INTO course_popularity (course_id, published, category_key, enrolment_count, rating_count)
SELECT id, status = 'published', lower(category), enrolment_count, rating_count FROM courses;

CREATE INDEX course_popularity_published_idx ON course_popularity (enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX course_popularity_category_idx ON course_popularity (category_key, enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
DROP INDEX courses_published_popular_idx;
DROP INDEX courses_category_popular_idx;

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

-- Room for HOT updates of the counters (existing pages keep theirs until rewritten).
ALTER TABLE courses SET (fillfactor = 85);
