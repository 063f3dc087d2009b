DROP TABLE account_outbox;
DROP TABLE account_deletions;
