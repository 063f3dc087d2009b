-- Reviews. One per user per course (the unique constraint is the guard, so concurrent creates cannot
-- both win). Only visible reviews count in the course's rating aggregate.

CREATE TABLE reviews (
  id            uuid PRIMARY KEY,
  course_id     uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  author_id     uuid NOT NULL,
  author_name   text NOT NULL DEFAULT '',
  rating        smallint NOT NULL,
  title         text,
  body          text,
  status        text NOT NULL DEFAULT 'visible',
  response_body text,
  responded_at  timestamptz(3),
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  updated_at    timestamptz(3) NOT NULL DEFAULT now(),
  -- Named: the service maps a violation of exactly this constraint to 409 review_exists.
  CONSTRAINT reviews_course_author_key UNIQUE (course_id, author_id),
  CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 5),
  CONSTRAINT reviews_status_check CHECK (status IN ('visible', 'hidden')),
  CONSTRAINT reviews_response_check CHECK ((response_body IS NULL) = (responded_at IS NULL))
);

-- Keyset indexes for the course's visible reviews, one per sort (the unique constraint above already
-- serves the foreign key and "does this user have a review here").
--   newest:      created_at DESC, id DESC
--   rating_desc: rating DESC, created_at DESC, id DESC (also serves the rating filter with newest order)
--   rating_asc:  rating ASC, then newest first within a rating
CREATE INDEX reviews_course_newest_idx ON reviews (course_id, created_at DESC, id DESC) WHERE status = 'visible';
CREATE INDEX reviews_course_rating_desc_idx ON reviews (course_id, rating DESC, created_at DESC, id DESC) WHERE status = 'visible';
CREATE INDEX reviews_course_rating_asc_idx ON reviews (course_id, rating ASC, created_at DESC, id DESC) WHERE status = 'visible';

-- An author's reviews, newest first (all statuses: authors and admins also see hidden ones).
CREATE INDEX reviews_author_newest_idx ON reviews (author_id, created_at DESC, id DESC);
