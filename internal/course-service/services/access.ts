/** Who may see and change what, in one place for both services. */
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { CourseStatus } from '../models/course.js';

export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.role === 'admin';
}

/** Published courses are public; drafts and archived ones only to their instructor and admins. */
export function canSeeCourse(principal: Principal | undefined, course: { status: CourseStatus; instructor_id: string }): boolean {
  return course.status === 'published' || isAdmin(principal) || (principal !== undefined && principal.sub === course.instructor_id);
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw HttpError.unauthorized('unauthorized', 'Sign in first');
  return principal;
}

/** People (not service clients) write courses and reviews; their ids are user UUIDs. */
export function requireUser(principal: Principal | undefined): Principal {
  const p = requirePrincipal(principal);
  if (p.role === 'service') throw HttpError.forbidden('forbidden', 'A service client cannot do this');
  return p;
}

export function requireVerified(principal: Principal): void {
  if (!principal.emailVerified) throw HttpError.forbidden('email_not_verified', 'Verify your e-mail address first');
}
