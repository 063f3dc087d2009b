-- Search in the product's two languages, and a category filter that ignores letter case.
--
-- Text search configuration per course: 'russian' for courses whose language is 'ru', 'english' for
-- every other. The product is English and Russian. Russian words inflect heavily ("курс", "курсы",
-- "курсов"), and the English stemmer leaves Cyrillic alone, so a Russian course was found only by the
-- exact form of a word. The 'russian' configuration stems Cyrillic words with the Russian Snowball
-- stemmer and ASCII words with the English one (and English stop words), so an English word in a
-- Russian course gives the same lexeme as in an English course. Not 'simple' plus a language config
-- (two vectors a course): one vector a course keeps course_search as narrow as it is, and the two
-- configurations agree on every ASCII word. Other languages (de, es, ...) keep 'english', as before.
-- The repository queries each row with the configuration of its language (see CourseRepository).

CREATE FUNCTION course_search_config(language text) RETURNS regconfig
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN language = 'ru' THEN 'russian'::regconfig ELSE 'english'::regconfig END
$$;

-- The weighted vector of a course, in its language: title (A) over tags and summary (B) over description (C).
CREATE FUNCTION course_search_vector(language text, title text, tags text[], summary text, description text)
  RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector(course_search_config(language), coalesce(title, '')), 'A')
      || setweight(to_tsvector(course_search_config(language), array_to_string(tags, ' ')), 'B')
      || setweight(to_tsvector(course_search_config(language), coalesce(summary, '')), 'B')
      || setweight(to_tsvector(course_search_config(language), coalesce(description, '')), 'C')
$$;

CREATE OR REPLACE FUNCTION courses_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT'
     OR NEW.title IS DISTINCT FROM OLD.title
     OR NEW.tags IS DISTINCT FROM OLD.tags
     OR NEW.summary IS DISTINCT FROM OLD.summary
     OR NEW.description IS DISTINCT FROM OLD.description
     OR NEW.language IS DISTINCT FROM OLD.language THEN
    NEW.search_vector := course_search_vector(NEW.language, NEW.title, NEW.tags, NEW.summary, NEW.description);
  END IF;
  RETURN NEW;
END;
$$;

-- A change of language changes the configuration, so the vector too.
DROP TRIGGER courses_before_write ON courses;
CREATE TRIGGER courses_before_write
  BEFORE INSERT OR UPDATE OF title, tags, summary, description, language ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_before_write();

-- Category facets in lower case: the repository compares lower(category) with lower(filter), so
-- "programming" finds courses filed under "Programming". Stored normalised in course_search's facets;
-- on courses, the category indexes lead with lower(category) instead of category.
CREATE OR REPLACE FUNCTION course_search_facets(category text, level text, language text, tags text[])
  RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['cat:' || lower(category), 'lvl:' || level, 'lang:' || language] || ARRAY(SELECT 'tag:' || t FROM unnest(tags) AS t)
$$;

-- Russian courses get their Russian vectors (the sync trigger copies each to course_search, which is
-- then refilled as a whole with the new facets anyway; without its GIN index meanwhile, as in 0007).
DROP INDEX course_search_match_idx;
UPDATE courses SET search_vector = course_search_vector(language, title, tags, summary, description) WHERE language = 'ru';
TRUNCATE course_search;
INSERT INTO course_search (course_id, search_vector, facets)
SELECT id, search_vector, course_search_facets(category, level, language, tags)
  FROM courses WHERE status = 'published';
CREATE INDEX course_search_match_idx ON course_search USING gin (search_vector, facets);

DROP INDEX courses_category_newest_idx;
DROP INDEX courses_category_rating_idx;
DROP INDEX courses_category_popular_idx;
DROP INDEX courses_category_title_idx;
CREATE INDEX courses_category_newest_idx ON courses (lower(category), published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_rating_idx ON courses (lower(category), rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (lower(category), rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_title_idx ON courses (lower(category), title, id) WHERE status = 'published';

-- Statistics of the new expression indexes and the refilled table now, not at autovacuum's leisure.
ANALYZE courses;
ANALYZE course_search;
