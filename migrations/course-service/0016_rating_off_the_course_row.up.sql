-- sort=rating off the wide courses row, as 0015 did for sort=popular. Every review create, edit and delete
-- moves courses.rating_count and rating_sum, and so the generated rating_avg, the keys of the two rating
-- indexes: the aggregate UPDATE could never be HOT. Each one wrote a new ~2 kB row version and an entry into
-- all 11 indexes of courses, the two GIN ones (search vector, tags) among them, whose pending lists then
-- filled with a few hundred entries per review; the write that found a list full (4 MB) merged it into the
-- index before it could commit. On the bench catalogue that showed as review writes at 200/s with p99 of
-- 30-240 ms and p95 either side of 15 ms from run to run.
--
-- Now course_popularity becomes course_rankings: the narrow row per course holds the rating keys beside the
-- popular ones, with both orders' indexes (whole catalogue and per category), kept equal to the course row
-- by the same trigger in the same transaction. courses keeps its rating columns for display and filters;
-- with no index on them, the aggregate UPDATE can be HOT (fillfactor 85 since 0015).

-- A new table rather than a column added to the old one: filling a new column would write a second version of
-- every row, and on a server whose autovacuum is off (or slow) the reads would walk both.
CREATE TABLE course_rankings (
  course_id       uuid PRIMARY KEY REFERENCES courses (id) ON DELETE CASCADE,
  published       boolean NOT NULL,
  category_key    text NOT NULL,
  enrolment_count integer NOT NULL,
  rating_count    integer NOT NULL,
  rating_avg      numeric(3,2) NOT NULL
);

INSERT INTO course_rankings (course_id, published, category_key, enrolment_count, rating_count, rating_avg)
SELECT id, status = 'published', lower(category), enrolment_count, rating_count, rating_avg FROM courses;

CREATE INDEX course_rankings_published_popular_idx ON course_rankings (enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX course_rankings_category_popular_idx ON course_rankings (category_key, enrolment_count DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX course_rankings_published_rating_idx ON course_rankings (rating_avg DESC, rating_count DESC, course_id DESC) WHERE published;
CREATE INDEX course_rankings_category_rating_idx ON course_rankings (category_key, rating_avg DESC, rating_count DESC, course_id DESC) WHERE published;
DROP INDEX courses_published_rating_idx;
DROP INDEX courses_category_rating_idx;
-- No parallel scans of it: a ranked page is a LIMIT 21 walk of one of these indexes, and with a rare filter
-- on the course row (a tag and a level) the planner's estimate of the walk made a parallel plan look
-- cheaper. Starting the two workers cost 10-14 ms on the bench catalogue, against 6-7 ms for the whole
-- walk in the backend itself.
ALTER TABLE course_rankings SET (parallel_workers = 0);
ANALYZE course_rankings;

DROP TRIGGER courses_sync_popularity_update ON courses;
DROP TRIGGER courses_sync_popularity_insert ON courses;
DROP FUNCTION courses_sync_popularity();
DROP TABLE course_popularity;

CREATE FUNCTION courses_sync_rankings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO course_rankings (course_id, published, category_key, enrolment_count, rating_count, rating_avg)
    VALUES (NEW.id, NEW.status = 'published', lower(NEW.category), NEW.enrolment_count, NEW.rating_count, NEW.rating_avg);
  ELSE
    UPDATE course_rankings
       SET published = NEW.status = 'published', category_key = lower(NEW.category),
           enrolment_count = NEW.enrolment_count, rating_count = NEW.rating_count, rating_avg = NEW.rating_avg
     WHERE course_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER courses_sync_rankings_insert
  AFTER INSERT ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_sync_rankings();
-- rating_avg is generated from rating_sum and rating_count: a star changed by a review edit moves the sum
-- alone. (An AFTER trigger sees the generated value in NEW.)
CREATE TRIGGER courses_sync_rankings_update
  AFTER UPDATE OF status, category, enrolment_count, rating_count, rating_sum ON courses
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.category IS DISTINCT FROM NEW.category
        OR OLD.enrolment_count <> NEW.enrolment_count OR OLD.rating_count <> NEW.rating_count
        OR OLD.rating_avg <> NEW.rating_avg)
  EXECUTE FUNCTION courses_sync_rankings();
