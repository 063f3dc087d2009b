-- The rows keep the order CLUSTER gave them (harmless); the settings and the index go.
ALTER INDEX course_search_match_idx RESET (fastupdate);
ALTER TABLE course_search RESET (fillfactor);
DROP INDEX course_search_category_idx;
