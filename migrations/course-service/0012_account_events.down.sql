DROP TABLE processed_account_events;
-- Anonymous reviews have no author to give back and cannot stay under a NOT NULL author: they go, and
-- the rating aggregates of their courses lose exactly their visible ones.
UPDATE courses c
   SET rating_count = c.rating_count - s.n, rating_sum = c.rating_sum - s.total,
       rating_1 = c.rating_1 - s.r1, rating_2 = c.rating_2 - s.r2, rating_3 = c.rating_3 - s.r3,
       rating_4 = c.rating_4 - s.r4, rating_5 = c.rating_5 - s.r5
  FROM (SELECT course_id, count(*)::int AS n, sum(rating)::int AS total,
               (count(*) FILTER (WHERE rating = 1))::int AS r1, (count(*) FILTER (WHERE rating = 2))::int AS r2,
               (count(*) FILTER (WHERE rating = 3))::int AS r3, (count(*) FILTER (WHERE rating = 4))::int AS r4,
               (count(*) FILTER (WHERE rating = 5))::int AS r5
          FROM reviews WHERE author_id IS NULL AND status = 'visible' GROUP BY course_id) s
 WHERE c.id = s.course_id;
DELETE FROM reviews WHERE author_id IS NULL;
ALTER TABLE reviews ALTER COLUMN author_id SET NOT NULL;
