-- Relevance with filters ranks on course_search as well (0005 did it for words alone): each row gets
-- the course's facets as `facets` ('cat:<category>', 'lvl:<level>', 'lang:<language>', one
-- 'tag:<tag>' per tag; short prefixes, since every byte here is read by each ranked match), and one GIN
-- index holds both the vector and the facets, so "words AND these filters" is a single index scan that
-- returns only the rows to rank. Before, a filtered search ranked every match on ~1.8 kB `courses` rows
-- (a BitmapAnd with a category index, or a level filter that read and threw away two thirds of them).
-- Not copied: the rating (minRating), which changes with every review (a copy would add a write to
-- each review's transaction), and the instructor, whose few courses courses_instructor_idx finds
-- faster; the repository joins `courses` for those two.

-- The facets of a course, in the form the repository queries them (`facets @> ARRAY[...]`).
CREATE FUNCTION course_search_facets(category text, level text, language text, tags text[])
  RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['cat:' || category, 'lvl:' || level, 'lang:' || language] || ARRAY(SELECT 'tag:' || t FROM unnest(tags) AS t)
$$;

-- Refilled rather than updated in place (an UPDATE of every row would leave the table twice its size).
-- Derived data: the trigger below keeps it from here on.
DROP INDEX course_search_idx;
TRUNCATE course_search;
ALTER TABLE course_search ADD COLUMN facets text[] NOT NULL;
INSERT INTO course_search (course_id, search_vector, facets)
SELECT id, search_vector, course_search_facets(category, level, language, tags)
  FROM courses WHERE status = 'published';

-- Multicolumn GIN: a condition on the vector alone uses it too, so it replaces course_search_idx.
CREATE INDEX course_search_match_idx ON course_search USING gin (search_vector, facets);
-- Planner statistics now rather than at autovacuum's leisure (without them it guesses match counts).
ANALYZE course_search;

CREATE OR REPLACE FUNCTION courses_sync_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'published' THEN
    INSERT INTO course_search (course_id, search_vector, facets)
    VALUES (NEW.id, NEW.search_vector, course_search_facets(NEW.category, NEW.level, NEW.language, NEW.tags))
    ON CONFLICT (course_id) DO UPDATE SET search_vector = EXCLUDED.search_vector, facets = EXCLUDED.facets;
  ELSIF TG_OP = 'UPDATE' AND OLD.status = 'published' THEN
    DELETE FROM course_search WHERE course_id = NEW.id;
  END IF;
  RETURN NULL;
END;
$$;

-- UPDATE OF (as 0006 made it): rating updates name none of these columns and skip even the WHEN.
DROP TRIGGER courses_sync_search_update ON courses;
CREATE TRIGGER courses_sync_search_update
  AFTER UPDATE OF status, search_vector, title, tags, summary, description, category, level, language ON courses
  FOR EACH ROW WHEN (
    OLD.status IS DISTINCT FROM NEW.status OR OLD.search_vector IS DISTINCT FROM NEW.search_vector
    OR OLD.category IS DISTINCT FROM NEW.category OR OLD.level IS DISTINCT FROM NEW.level
    OR OLD.language IS DISTINCT FROM NEW.language OR OLD.tags IS DISTINCT FROM NEW.tags)
  EXECUTE FUNCTION courses_sync_search();
