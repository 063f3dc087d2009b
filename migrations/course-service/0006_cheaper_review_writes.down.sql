DROP FUNCTION review_counted(boolean);

DROP TRIGGER courses_sync_search_update ON courses;
CREATE TRIGGER courses_sync_search_update
  AFTER UPDATE ON courses
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
  EXECUTE FUNCTION courses_sync_search();

DROP TRIGGER courses_before_write ON courses;
CREATE TRIGGER courses_before_write
  BEFORE INSERT OR UPDATE ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_before_write();

CREATE OR REPLACE FUNCTION courses_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    NEW.version := OLD.version + 1;
  END IF;
  IF TG_OP = 'INSERT'
     OR NEW.title IS DISTINCT FROM OLD.title
     OR NEW.tags IS DISTINCT FROM OLD.tags
     OR NEW.summary IS DISTINCT FROM OLD.summary
     OR NEW.description IS DISTINCT FROM OLD.description THEN
    -- Weights: title (A) over tags and summary (B) over description (C).
    NEW.search_vector :=
         setweight(to_tsvector('english'::regconfig, coalesce(NEW.title, '')), 'A')
      || setweight(to_tsvector('english'::regconfig, array_to_string(NEW.tags, ' ')), 'B')
      || setweight(to_tsvector('english'::regconfig, coalesce(NEW.summary, '')), 'B')
      || setweight(to_tsvector('english'::regconfig, coalesce(NEW.description, '')), 'C');
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER courses_bump_version ON courses;
DROP FUNCTION courses_bump_version();
