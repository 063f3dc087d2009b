-- Learning writes in one round trip each. An enrolment was a course read, a transaction of four statements,
-- and a re-read; a lesson completion a lesson read, a transaction of five to nine statements and three
-- reads for the answer: ~10 round trips, each parsed and planned again, cost more than the rows they wrote
-- (bench/README.md, "Learning"). These two functions run the same steps in the same order, under the same
-- locks, inside the caller's statement, and answer what the HTTP response needs. Plans are cached per
-- connection by PL/pgSQL itself.
--
-- Lock order (as before, docs/ARCHITECTURE.md "Learning: enrolment and progress"): enrolment row, then
-- lesson row, then course row, then the day's stats row, then the outbox.
--
-- Outcomes are returned, not raised, except a course unpublished between the first read and the course
-- row lock, which must undo the enrolment row already written: that one raises with the constraint name
-- `enrolment_course_published` (the caller answers 404 `course_not_found`, as before).

-- Enrols p_user_id in p_course_id. change: 'inserted' (new row), 'reactivated' (a left row active again,
-- progress kept), 'none' (active already), 'own_course', 'not_published' (missing, draft or archived; the
-- learner's row comes back when they are an active learner, whom an archived course keeps), with the
-- enrolment's columns (null where there is no row) and the course's current lesson count.
CREATE FUNCTION learning_enrol(p_id uuid, p_course_id uuid, p_user_id uuid, p_learner_name text, p_event_id uuid)
RETURNS TABLE (
  change text, id uuid, course_id uuid, user_id uuid, learner_name text, status text, completed_lessons integer,
  last_lesson_id uuid, enrolled_at timestamptz, left_at timestamptz, completed_at timestamptz,
  last_activity_at timestamptz, lesson_count integer
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_course record;
  v_row enrolments;
  v_change text;
BEGIN
  SELECT c.status, c.instructor_id INTO v_course FROM courses c WHERE c.id = p_course_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_published'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text, NULL::integer,
      NULL::uuid, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::integer;
    RETURN;
  END IF;
  IF v_course.instructor_id = p_user_id THEN
    v_change := 'own_course';
  ELSIF v_course.status <> 'published' THEN
    v_change := 'not_published';
  END IF;
  IF v_change IS NOT NULL THEN
    RETURN QUERY SELECT v_change, e.id, e.course_id, e.user_id, e.learner_name, e.status, e.completed_lessons,
        e.last_lesson_id, e.enrolled_at, e.left_at, e.completed_at, e.last_activity_at, c.lesson_count
      FROM courses c LEFT JOIN enrolments e ON e.course_id = c.id AND e.user_id = p_user_id AND e.status = 'active'
     WHERE c.id = p_course_id;
    RETURN;
  END IF;

  -- The enrolment row first: ON CONFLICT locks an existing row even when its WHERE says no, so concurrent
  -- repeats of one learner serialise here and exactly one of them sees each status change.
  INSERT INTO enrolments AS e (id, course_id, user_id, learner_name) VALUES (p_id, p_course_id, p_user_id, p_learner_name)
  ON CONFLICT (course_id, user_id) DO UPDATE
     SET status = 'active', left_at = NULL, last_activity_at = now(), learner_name = EXCLUDED.learner_name
   WHERE e.status = 'left'
  RETURNING * INTO v_row;
  IF NOT FOUND THEN
    SELECT * INTO v_row FROM enrolments e WHERE e.course_id = p_course_id AND e.user_id = p_user_id FOR UPDATE;
    v_change := 'none';
  ELSE
    v_change := CASE WHEN v_row.id = p_id THEN 'inserted' ELSE 'reactivated' END;
    -- Under the course's row lock: still published, or the enrolment is undone with the statement.
    UPDATE courses c
       SET enrolment_count = c.enrolment_count + 1, learner_total = c.learner_total + (v_change = 'inserted')::integer
     WHERE c.id = p_course_id AND c.status = 'published'
    RETURNING c.title, c.slug INTO v_course;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'the course is no longer published' USING CONSTRAINT = 'enrolment_course_published';
    END IF;
    INSERT INTO course_daily_stats AS s (course_id, day, enrolled) VALUES (p_course_id, (now() AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (course_id, day) DO UPDATE SET enrolled = s.enrolled + 1;
    INSERT INTO course_outbox (id, type, payload)
    VALUES (p_event_id, 'enrolment_created', jsonb_build_object('eventId', p_event_id, 'courseId', p_course_id,
      'courseTitle', v_course.title, 'courseSlug', v_course.slug, 'userId', p_user_id));
  END IF;

  RETURN QUERY SELECT v_change, v_row.id, v_row.course_id, v_row.user_id, v_row.learner_name, v_row.status,
      v_row.completed_lessons, v_row.last_lesson_id, v_row.enrolled_at::timestamptz, v_row.left_at::timestamptz,
      v_row.completed_at::timestamptz, v_row.last_activity_at::timestamptz, c.lesson_count
    FROM courses c WHERE c.id = p_course_id;
END;
$$;

-- Marks (p_done) or unmarks lesson p_lesson_id for p_user_id, an active learner of its course, and answers
-- the learner's progress in that course. outcome: 'ok', 'lesson_not_found' (no such lesson, or its course
-- is one the caller may not see and they are not an active learner of it), 'enrolment_required' (a lesson
-- the caller may see but they are not an active learner). p_sees_all: the caller is an admin.
-- When this completion makes every lesson complete (once: completed_at is never cleared) it stamps
-- completed_at, moves the course's completion_count and today's `completed`, issues the certificate
-- (p_certificate_id, p_verification_id; names copied now) and queues `course_completed` (p_event_id).
CREATE FUNCTION learning_set_completion(
  p_user_id uuid, p_lesson_id uuid, p_done boolean, p_sees_all boolean, p_learner_name text,
  p_certificate_id uuid, p_verification_id text, p_event_id uuid
)
RETURNS TABLE (
  outcome text, course_id uuid, completed_lessons integer, lesson_count integer, last_lesson_id uuid,
  next_lesson_id uuid, completed_at timestamptz, certificate_id text
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_lesson record;
  v_enrolment enrolments;
  v_course record;
  v_changed integer;
  v_delta integer := 0;
  v_complete boolean := false;
  v_certificate text;
  v_next uuid;
BEGIN
  SELECT l.course_id, c.status, c.instructor_id INTO v_lesson
    FROM lessons l JOIN courses c ON c.id = l.course_id WHERE l.id = p_lesson_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lesson_not_found'::text, NULL::uuid, NULL::integer, NULL::integer, NULL::uuid, NULL::uuid,
      NULL::timestamptz, NULL::text;
    RETURN;
  END IF;

  SELECT * INTO v_enrolment FROM enrolments e
   WHERE e.course_id = v_lesson.course_id AND e.user_id = p_user_id FOR UPDATE;
  IF NOT FOUND OR v_enrolment.status <> 'active' THEN
    RETURN QUERY SELECT
      CASE WHEN v_lesson.status = 'published' OR v_lesson.instructor_id = p_user_id OR p_sees_all
           THEN 'enrolment_required' ELSE 'lesson_not_found' END,
      v_lesson.course_id, NULL::integer, NULL::integer, NULL::uuid, NULL::uuid, NULL::timestamptz, NULL::text;
    RETURN;
  END IF;

  -- The lesson after the enrolment: a concurrent lesson delete waits for this completion and then sees it.
  PERFORM FROM lessons l WHERE l.id = p_lesson_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'lesson_not_found'::text, v_lesson.course_id, NULL::integer, NULL::integer, NULL::uuid,
      NULL::uuid, NULL::timestamptz, NULL::text;
    RETURN;
  END IF;

  IF p_done THEN
    INSERT INTO lesson_completions (user_id, lesson_id, course_id) VALUES (p_user_id, p_lesson_id, v_lesson.course_id)
    ON CONFLICT (user_id, lesson_id) DO NOTHING;
  ELSE
    DELETE FROM lesson_completions lc WHERE lc.user_id = p_user_id AND lc.lesson_id = p_lesson_id;
  END IF;
  GET DIAGNOSTICS v_changed = ROW_COUNT;
  IF v_changed > 0 THEN
    v_delta := CASE WHEN p_done THEN 1 ELSE -1 END;
    UPDATE lessons l SET completion_count = l.completion_count + v_delta WHERE l.id = p_lesson_id;
  END IF;

  IF p_done AND v_enrolment.completed_at IS NULL THEN
    SELECT c.lesson_count, c.title, c.slug, c.instructor_name, c.total_duration_seconds INTO v_course
      FROM courses c WHERE c.id = v_lesson.course_id;
    v_complete := v_course.lesson_count > 0 AND v_enrolment.completed_lessons + v_delta >= v_course.lesson_count;
  END IF;

  UPDATE enrolments e
     SET completed_lessons = e.completed_lessons + v_delta, last_lesson_id = p_lesson_id, last_activity_at = now(),
         completed_at = CASE WHEN v_complete THEN now() ELSE e.completed_at END
   WHERE e.id = v_enrolment.id
  RETURNING * INTO v_enrolment;

  IF v_complete THEN
    UPDATE courses c SET completion_count = c.completion_count + 1 WHERE c.id = v_lesson.course_id;
    INSERT INTO course_daily_stats AS s (course_id, day, completed)
    VALUES (v_lesson.course_id, (now() AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (course_id, day) DO UPDATE SET completed = s.completed + 1;
    INSERT INTO certificates (id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds)
    VALUES (p_certificate_id, p_verification_id, v_lesson.course_id, p_user_id, p_learner_name, v_course.title,
            v_course.instructor_name, v_course.total_duration_seconds)
    ON CONFLICT (course_id, user_id) DO NOTHING;
    SELECT ce.verification_id INTO v_certificate FROM certificates ce
     WHERE ce.course_id = v_lesson.course_id AND ce.user_id = p_user_id;
    INSERT INTO course_outbox (id, type, payload)
    VALUES (p_event_id, 'course_completed', jsonb_build_object('eventId', p_event_id, 'courseId', v_lesson.course_id,
      'courseTitle', v_course.title, 'courseSlug', v_course.slug, 'userId', p_user_id,
      'certificateVerificationId', v_certificate));
  ELSIF v_enrolment.completed_at IS NOT NULL THEN
    SELECT ce.verification_id INTO v_certificate FROM certificates ce
     WHERE ce.course_id = v_lesson.course_id AND ce.user_id = p_user_id;
  END IF;

  -- The resume point: the first lesson in curriculum order the learner has not completed.
  SELECT l.id INTO v_next FROM lessons l JOIN course_sections s ON s.id = l.section_id
   WHERE l.course_id = v_lesson.course_id
     AND NOT EXISTS (SELECT FROM lesson_completions lc
                      WHERE lc.user_id = p_user_id AND lc.course_id = v_lesson.course_id AND lc.lesson_id = l.id)
   ORDER BY s.position, l.position, l.id
   LIMIT 1;

  RETURN QUERY SELECT 'ok'::text, v_lesson.course_id, v_enrolment.completed_lessons, c.lesson_count,
      v_enrolment.last_lesson_id, v_next, v_enrolment.completed_at::timestamptz, v_certificate
    FROM courses c WHERE c.id = v_lesson.course_id;
END;
$$;
