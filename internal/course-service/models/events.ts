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

export type CourseOutboxEvent =
  | { type: 'review_created'; payload: ReviewCreatedEvent }
  | { type: 'review_hidden'; payload: ReviewHiddenEvent };
