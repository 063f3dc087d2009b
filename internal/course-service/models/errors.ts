/**
 * course-service's domain errors that more than one layer raises (a repository translating a constraint,
 * a service checking a rule), so each has one wording.
 */
import { HttpError } from '../../shared/utils/errors.js';

export const courseNotFound = (): HttpError => HttpError.notFound('course_not_found', 'No such course');
export const courseNotPublished = (): HttpError => HttpError.conflict('course_not_published', 'Only published courses can be reviewed');
export const slugTaken = (detail = 'Another course already uses this slug'): HttpError => HttpError.conflict('slug_taken', detail);
export const sectionNotFound = (): HttpError => HttpError.notFound('section_not_found', 'No such section');
export const lessonNotFound = (): HttpError => HttpError.notFound('lesson_not_found', 'No such lesson');
export const reviewNotFound = (): HttpError => HttpError.notFound('review_not_found', 'No such review');

/** True for the error `slugTaken` makes. */
export function isSlugTaken(err: unknown): boolean {
  return err instanceof HttpError && err.code === 'slug_taken';
}

export const enrolmentRequired = (): HttpError => HttpError.forbidden('enrolment_required', 'Only active learners of the course may do this; enrol first');
