-- Full-text search reads fewer pages: course_search is kept in category order, and its GIN index has no
-- pending list.
--
-- A search ranks every match (ts_rank reads each matching row's vector), so its cost follows the heap
-- pages its matches lie on. A topical word's matches come from a few categories ("python": 7,185 of
-- 90,115 published courses, all in 3 of 12 categories). In publish order they lie on 5,546 pages; in
-- category order on about a third as many, two to three matches a page. Measured on the 100k-course
-- bench catalogue, the relevance query for "python" went from 17-23 ms to 10-12 ms, "react" from 15-17
-- to 7-8 ms, "rust" from 7-8 to 3-4 ms.
--
-- The order is made here once, by CLUSTER (ACCESS EXCLUSIVE on course_search while it runs: ~3 s at
-- 90k rows; searches and course publishes and edits wait, nothing else). PostgreSQL does not keep it:
-- - an edit that rewrites a vector stays on its page when the page has room: fillfactor 90 leaves ~800
--   bytes a page for that (one vector is ~0.85 kB on average);
-- - a newly published course goes wherever there is room, so the order fades as the catalogue grows.
-- `CLUSTER course_search;` restores it (PostgreSQL remembers the index); deploy/README.md ("Database
-- upkeep") says when: after a bulk import, or when /metrics' course_search_order_correlation falls.
CREATE INDEX course_search_category_idx ON course_search ((facets[1]));
ALTER TABLE course_search SET (fillfactor = 90);
CLUSTER course_search USING course_search_category_idx;

-- With fastupdate, a write adds to a pending list that every search then reads whole (up to
-- gin_pending_list_limit, 4 MB), until a vacuum or a full list merges it: 171 pages of it for a handful
-- of edits on the bench catalogue. Course text changes are rare beside searches, so a write now
-- updates the index itself (a few ms per publish or edit). CLUSTER above rebuilt the index, so there is
-- no pending list left to merge.
ALTER INDEX course_search_match_idx SET (fastupdate = off);

ANALYZE course_search;
