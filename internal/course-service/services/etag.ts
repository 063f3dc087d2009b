/** The shared strong-ETag helpers (see internal/shared/utils/etag.ts), as course-service uses them. */
export { checkIfMatch, etagOf } from '../../shared/utils/etag.js';
