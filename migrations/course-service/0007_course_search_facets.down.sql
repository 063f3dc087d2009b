-- Back to 0006: the vector alone, its own GIN index, and the trigger that syncs only status and vector.
DROP TRIGGER courses_sync_search_update ON courses;

CREATE OR REPLACE FUNCTION courses_sync_search() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER courses_sync_search_update
  AFTER UPDATE OF status, search_vector, title, tags, summary, description ON courses
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
  EXECUTE FUNCTION courses_sync_search();

DROP INDEX course_search_match_idx;
ALTER TABLE course_search DROP COLUMN facets;
CREATE INDEX course_search_idx ON course_search USING gin (search_vector);
DROP FUNCTION course_search_facets(text, text, text, text[]);
