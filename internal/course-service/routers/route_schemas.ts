/** Pieces of route schemas the course-service routers share. */
import { WriteAnswerHeaders } from '../middleware/conditional.js';

type Security = { [scheme: string]: string[] }[];

export const bearer: Security = [{ bearerAuth: [] }];
/** A token is optional: without one the answer is the public view (OpenAPI: `{}` = no auth needed). */
export const optionalBearer: Security = [{}, { bearerAuth: [] }];

/** A 201 answer with `Location` and `ETag`. */
export function created<T extends object>(schema: T, description: string, location: string) {
  return {
    description,
    headers: { location: { type: 'string', description: location }, ...WriteAnswerHeaders },
    content: { 'application/json': { schema } },
  };
}

/** A 200 answer of a write, with the resource's new `ETag`. */
export function written<T extends object>(schema: T, description: string) {
  return { description, headers: WriteAnswerHeaders, content: { 'application/json': { schema } } };
}
