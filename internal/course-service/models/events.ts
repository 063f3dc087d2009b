/**
 * Events course-service writes to `course_outbox` for auth-service (review mails). The relay sends
 * `payload` as is, with `eventId` as the idempotency key. Field names are a contract: do not rename.
 */
export interface ReviewCreatedEvent {
  eventId: string;
  courseId: string;
  courseTitle: string;
  courseSlug: string;
  /** Whom to mail: the course's instructor. */
  instructorId: string;
  reviewId: string;
  rating: number;
  title: string | null;
  body: string | null;
  authorName: string;
}

export interface ReviewHiddenEvent {
  eventId: string;
  courseId: string;
  courseTitle: string;
  reviewId: string;
  /** Whom to mail: the review's author. */
  authorId: string;
  reviewTitle: string | null;
}

/** A learner enrolled (first time or again): the confirmation mail. */
export interface EnrolmentCreatedEvent {
  eventId: string;
  courseId: string;
  courseTitle: string;
  courseSlug: string;
  /** Whom to mail: the learner. */
  userId: string;
}

/** A learner completed every lesson: the mail with the certificate link. */
export interface CourseCompletedEvent {
  eventId: string;
  courseId: string;
  courseTitle: string;
  courseSlug: string;
  userId: string;
  certificateVerificationId: string;
}

/** One learner's copy of an instructor's announcement (fanned out in batches, once per learner). */
export interface AnnouncementEvent {
  eventId: string;
  announcementId: string;
  courseId: string;
  courseTitle: string;
  courseSlug: string;
  userId: string;
  subject: string;
  body: string;
  instructorName: string;
}

export type CourseOutboxEvent =
  | { type: 'review_created'; payload: ReviewCreatedEvent }
  | { type: 'review_hidden'; payload: ReviewHiddenEvent }
  | { type: 'enrolment_created'; payload: EnrolmentCreatedEvent }
  | { type: 'course_completed'; payload: CourseCompletedEvent }
  | { type: 'course_announcement'; payload: AnnouncementEvent };
