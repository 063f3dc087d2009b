-- A learner's choice about course announcements (mails an instructor posts to the learners of a
-- course). On by default, like review mails; the announcement mail's unsubscribe link turns it off.
ALTER TABLE users ADD COLUMN notify_announcements boolean NOT NULL DEFAULT true;
