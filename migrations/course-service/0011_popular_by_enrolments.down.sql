DROP INDEX courses_published_popular_idx;
DROP INDEX courses_category_popular_idx;
CREATE INDEX courses_published_popular_idx ON courses (rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_category_popular_idx ON courses (lower(category), rating_count DESC, rating_avg DESC, id DESC) WHERE status = 'published';
