/**
 * Input checks inside the services, with the same TypeBox schemas the HTTP layer validates with. The
 * HTTP layer rejects bad requests first; this keeps the rules true for any other caller (scripts,
 * tests, a future queue consumer) and gives the same 400 `validation_failed`.
 */
import type { TSchema, Static } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HttpError } from '../../shared/utils/errors.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
addFormats(ajv);

const compiled = new WeakMap<TSchema, ValidateFunction>();

export function validateInput<S extends TSchema>(schema: S, value: unknown): Static<S> {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return value as Static<S>;
  const errors = (validate.errors ?? []).map((e) => {
    const missing = (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty;
    const extra = (e.params as { additionalProperty?: string }).additionalProperty;
    const path = e.instancePath + (missing ? `/${missing}` : extra ? `/${extra}` : '');
    return { path: path || '/', message: extra ? 'is not allowed' : (e.message ?? 'is invalid') };
  });
  throw HttpError.badRequest('validation_failed', 'The request is not valid', errors);
}

export function fieldError(path: string, message: string): HttpError {
  return HttpError.badRequest('validation_failed', 'The request is not valid', [{ path, message }]);
}
