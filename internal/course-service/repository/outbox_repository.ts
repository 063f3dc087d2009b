/**
 * Writes events to `course_outbox`, always inside the transaction of the change that causes them, so
 * an event exists if and only if its change committed. Delivery (the relay) lives elsewhere.
 */
import type { Queryable } from '../../shared/utils/database.js';
import { newId } from '../../shared/utils/ids.js';
import type { ReviewCreatedEvent, ReviewHiddenEvent } from '../models/events.js';

type WithoutId<T> = Omit<T, 'eventId'>;

export class OutboxRepository {
  /** Adds an event in `tx`; its id doubles as `payload.eventId` (the relay's idempotency key). */
  async add(tx: Queryable, type: 'review_created', payload: WithoutId<ReviewCreatedEvent>): Promise<string>;
  async add(tx: Queryable, type: 'review_hidden', payload: WithoutId<ReviewHiddenEvent>): Promise<string>;
  async add(tx: Queryable, type: string, payload: object): Promise<string> {
    const id = newId();
    await tx.query('INSERT INTO course_outbox (id, type, payload) VALUES ($1, $2, $3::jsonb)', [
      id,
      type,
      JSON.stringify({ eventId: id, ...payload }),
    ]);
    return id;
  }
}
