/** SQL for security activity (table `security_events`). Style: docs/ARCHITECTURE.md, "Data layer". */
import type { Queryable } from '../../shared/utils/database.js';
import { newId } from '../../shared/utils/ids.js';
import type { SecurityEventInput } from '../models/security_event.js';

export class SecurityEventRepository {
  constructor(private readonly db: Queryable) {}

  /** Records one event; pass the action's transaction so the event exists exactly when the action does. */
  async record(e: SecurityEventInput, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO security_events (id, user_id, event, ip, user_agent, session_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [newId(), e.userId, e.event, e.ip ?? null, e.userAgent?.slice(0, 300) ?? null, e.sessionId ?? null, JSON.stringify(e.details ?? {})],
    );
  }
}
