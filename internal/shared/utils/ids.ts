import { v7 as uuidv7, validate, version } from 'uuid';

/** Time-ordered ids (UUID v7), so primary-key indexes stay append-mostly. */
export function newId(): string {
  return uuidv7();
}

export function isUuid(value: string): boolean {
  return validate(value) && version(value) >= 1;
}
