-- Back to 0007: English vectors for every course, category indexes and facets as written.
DROP INDEX courses_category_newest_idx;
DROP INDEX courses_category_rating_idx;
DROP INDEX courses_category_popular_idx;
DROP INDEX courses_category_title_idx;
CREATE INDEX courses_category_newest_idx ON courses (category, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_rating_idx ON courses (category, rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (category, rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_title_idx ON courses (category, title, id) WHERE status = 'published';

CREATE OR REPLACE FUNCTION course_search_facets(category text, level text, language text, tags text[])
  RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['cat:' || category, 'lvl:' || level, 'lang:' || language] || ARRAY(SELECT 'tag:' || t FROM unnest(tags) AS t)
$$;

-- The trigger and function of 0006.
DROP TRIGGER courses_before_write ON courses;
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
CREATE TRIGGER courses_before_write
  BEFORE INSERT OR UPDATE OF title, tags, summary, description ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_before_write();

DROP INDEX course_search_match_idx;
UPDATE courses SET search_vector =
     setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
  || setweight(to_tsvector('english'::regconfig, array_to_string(tags, ' ')), 'B')
  || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')
  || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')
 WHERE language = 'ru';
TRUNCATE course_search;
INSERT INTO course_search (course_id, search_vector, facets)
SELECT id, search_vector, course_search_facets(category, level, language, tags)
  FROM courses WHERE status = 'published';
CREATE INDEX course_search_match_idx ON course_search USING gin (search_vector, facets);

DROP FUNCTION course_search_vector(text, text, text[], text, text);
DROP FUNCTION course_search_config(text);
ANALYZE courses;
ANALYZE course_search;
