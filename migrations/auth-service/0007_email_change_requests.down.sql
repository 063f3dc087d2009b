DROP INDEX one_time_tokens_request_idx;
DROP TABLE email_change_requests;
