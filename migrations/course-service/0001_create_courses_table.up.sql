-- Courses, with the rating aggregate kept on the row (updated O(1) in each review's transaction) and a
-- weighted full-text vector. Timestamps are millisecond precision (timestamptz(3)) so the value a client
-- sees in JSON, the keyset cursor and the database agree exactly.

CREATE TABLE courses (
  id               uuid PRIMARY KEY,
  slug             text NOT NULL,
  title            text NOT NULL,
  summary          text NOT NULL DEFAULT '',
  description      text NOT NULL DEFAULT '',
  category         text NOT NULL,
  tags             text[] NOT NULL DEFAULT '{}',
  level            text NOT NULL,
  language         text NOT NULL,
  duration_minutes integer NOT NULL,
  instructor_id    uuid NOT NULL,
  instructor_name  text NOT NULL DEFAULT '',
  status           text NOT NULL DEFAULT 'draft',
  published_at     timestamptz(3),
  rating_count     integer NOT NULL DEFAULT 0,
  rating_sum       integer NOT NULL DEFAULT 0,
  rating_1         integer NOT NULL DEFAULT 0,
  rating_2         integer NOT NULL DEFAULT 0,
  rating_3         integer NOT NULL DEFAULT 0,
  rating_4         integer NOT NULL DEFAULT 0,
  rating_5         integer NOT NULL DEFAULT 0,
  -- Stored so that "sort by rating" can walk an index instead of computing per row.
  rating_avg       numeric(3, 2) GENERATED ALWAYS AS (
                     CASE WHEN rating_count > 0 THEN round(rating_sum::numeric / rating_count, 2) ELSE 0 END
                   ) STORED,
  -- Bumped by the trigger below on every UPDATE (content or rating).
  version          integer NOT NULL DEFAULT 1,
  search_vector    tsvector NOT NULL DEFAULT ''::tsvector,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT courses_slug_key UNIQUE (slug),
  CONSTRAINT courses_status_check CHECK (status IN ('draft', 'published', 'archived')),
  CONSTRAINT courses_level_check CHECK (level IN ('beginner', 'intermediate', 'advanced')),
  CONSTRAINT courses_published_at_check CHECK (status <> 'published' OR published_at IS NOT NULL),
  CONSTRAINT courses_duration_check CHECK (duration_minutes > 0),
  -- A bug in the delta arithmetic must fail the transaction, not corrupt the aggregate.
  CONSTRAINT courses_rating_check CHECK (
    rating_1 >= 0 AND rating_2 >= 0 AND rating_3 >= 0 AND rating_4 >= 0 AND rating_5 >= 0
    AND rating_count = rating_1 + rating_2 + rating_3 + rating_4 + rating_5
    AND rating_sum = rating_1 + 2 * rating_2 + 3 * rating_3 + 4 * rating_4 + 5 * rating_5
  )
);

-- Text search configuration: 'english', not 'simple'. Most of the catalogue is written in English, and
-- stemming plus stop words is what people expect from a search box ("testing" finds "tests", "the" is
-- ignored). Words in other languages (e.g. Russian, Cyrillic) are left unstemmed by the English stemmer
-- and still match word for word, so nothing becomes unfindable. The same config must be used by queries
-- (websearch_to_tsquery('english', ...)), or they will not match the stored lexemes.
--
-- A trigger rather than a generated column: array_to_string() on tags is only STABLE, which a
-- generated column refuses. The vector is recomputed only when the text changes, not on rating updates.
CREATE FUNCTION courses_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER courses_before_write
  BEFORE INSERT OR UPDATE ON courses
  FOR EACH ROW EXECUTE FUNCTION courses_before_write();

CREATE INDEX courses_search_idx ON courses USING gin (search_vector);
CREATE INDEX courses_tags_idx ON courses USING gin (tags);

-- One index per public sort, partial on published (the only rows a public list reads), each ending in
-- id to match the keyset tiebreaker, so a page is an index range scan whatever the page number.
CREATE INDEX courses_published_newest_idx ON courses (published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_published_rating_idx ON courses (rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_published_popular_idx ON courses (rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_published_title_idx ON courses (title, id) WHERE status = 'published';

-- Category is the main facet (and the GROUP BY of /categories), so it leads its own copy of each sort.
-- Level and language have a handful of values each: the sort index filtered by them is as good.
-- Tag filters use the GIN index on tags; instructor filters the instructor index.
CREATE INDEX courses_category_newest_idx ON courses (category, published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_rating_idx ON courses (category, rating_avg DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (category, rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_title_idx ON courses (category, title, id) WHERE status = 'published';

-- All statuses: an instructor's own courses, and the instructorId filter.
CREATE INDEX courses_instructor_idx ON courses (instructor_id, created_at DESC, id DESC);
