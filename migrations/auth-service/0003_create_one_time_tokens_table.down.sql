DROP TABLE IF EXISTS one_time_tokens;
