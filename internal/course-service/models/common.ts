/** Small helpers the course-service models share. */

/** Drivers return timestamptz as Date (pg, PGlite) or text; the API speaks ISO-8601 UTC. */
export function isoTime(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
