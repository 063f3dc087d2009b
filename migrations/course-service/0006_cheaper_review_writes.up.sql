-- Review writes, part 1. Rating updates (one per review write) fired both search triggers for nothing. courses_before_write
-- compared title, tags, summary and description with IS DISTINCT FROM, which detoasts the description
-- (out of line since 0004) twice per update: ~180 of the ~310 buffers an aggregate update touched
-- (EXPLAIN (ANALYZE, BUFFERS) on the 100k-course bench catalogue). courses_sync_search_update's WHEN
-- compared the two search vectors. Now the search triggers fire only when an UPDATE names one of the
-- columns they depend on (UPDATE OF), and the version bump, which every UPDATE needs, is its own trigger.
-- Same results: the vector is still recomputed exactly when the text changes, and course_search still
-- follows status and vector.

CREATE FUNCTION courses_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END;
$$;

CREATE TRIGGER courses_bump_version
  BEFORE UPDATE ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_bump_version();

-- The search vector only (the version moved to courses_bump_version).
CREATE OR REPLACE FUNCTION courses_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

-- UPDATE OF: fires when the UPDATE's SET list names one of these columns (whatever the values).
DROP TRIGGER courses_before_write ON courses;
CREATE TRIGGER courses_before_write
  BEFORE INSERT OR UPDATE OF title, tags, summary, description ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_before_write();

-- A vector changes only through those columns (or a direct write of search_vector).
DROP TRIGGER courses_sync_search_update ON courses;
CREATE TRIGGER courses_sync_search_update
  AFTER UPDATE OF status, search_vector, title, tags, summary, description ON courses
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.search_vector IS DISTINCT FROM NEW.search_vector)
  EXECUTE FUNCTION courses_sync_search();

-- Review writes, part 2. A review create is one statement (data-modifying CTEs, see
-- ReviewRepository.insertCounted): insert the review, then move the aggregate under the course's row
-- lock if the course is still published. When it no longer is, this fails the statement, which undoes
-- the insert (one statement is one transaction). The service answers 409 course_not_published.
CREATE FUNCTION review_counted(counted boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT counted THEN
    RAISE EXCEPTION 'the course is no longer published' USING CONSTRAINT = 'review_course_published';
  END IF;
  RETURN true;
END;
$$;
