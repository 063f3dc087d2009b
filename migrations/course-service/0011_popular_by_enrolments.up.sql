-- sort=popular orders by active learners (courses.enrolment_count, migration 0009), then review count,
-- then id: the two popular indexes follow (the published catalogue, and per category as in 0008).
DROP INDEX courses_published_popular_idx;
DROP INDEX courses_category_popular_idx;
CREATE INDEX courses_published_popular_idx ON courses (enrolment_count DESC, rating_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (lower(category), enrolment_count DESC, rating_count DESC, id DESC) WHERE status = 'published';
