DROP TABLE course_announcements;
