-- A narrow copy of the search vector of published courses, for full-text search with relevance sort:
-- the match and ts_rank then read a small table (~0.5 kB a row) instead of ~1.8 kB course rows, and only
-- the page's courses are fetched from `courses`. Kept in sync by the trigger below, in the writing
-- transaction: a row exists exactly while its course is published, with the course's current vector.

CREATE TABLE course_search (
  course_id     uuid PRIMARY KEY REFERENCES courses (id) ON DELETE CASCADE,
  search_vector tsvector NOT NULL
);
-- Inline (no TOAST lookup per ranked match), as on courses (0004).
ALTER TABLE course_search ALTER COLUMN search_vector SET STORAGE MAIN;

CREATE INDEX course_search_idx ON course_search USING gin (search_vector);

INSERT INTO course_search (course_id, search_vector)
SELECT id, search_vector FROM courses WHERE status = 'published';

-- After courses_before_write, so NEW.search_vector is the recomputed vector. Deleting a course cascades.
CREATE FUNCTION courses_sync_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'published' THEN
    INSERT INTO course_search (course_id, search_vector) VALUES (NEW.id, NEW.search_vector)
    ON CONFLICT (course_id) DO UPDATE SET search_vector = EXCLUDED.search_vector;
  ELSIF TG_OP = 'UPDATE' AND OLD.status = 'published' THEN
    DELETE FROM course_search WHERE course_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER courses_sync_search_insert
  AFTER INSERT ON courses
  FOR EACH ROW WHEN (NEW.status = 'published') EXECUTE FUNCTION courses_sync_search();

-- Rating updates change neither column and skip the function.
CREATE TRIGGER courses_sync_search_update
  AFTER UPDATE ON courses
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
  EXECUTE FUNCTION courses_sync_search();
