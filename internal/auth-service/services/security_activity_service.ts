/**
 * Security activity: the owner reads their own events of the last 90 days, an admin reads
 * anyone's, filtered by user and event; both newest first in keyset pages. Rows older than
 * `securityEvents.retentionDays` are deleted by SecurityEventRetention on a timer.
 */
import { decodeCursor, keysetPage } from '../../shared/utils/cursor.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import {
  toAdminSecurityEventView,
  toSecurityEventView,
  type AdminSecurityEventQuery,
  type AdminSecurityEventView,
  type SecurityEventQuery,
  type SecurityEventView,
} from '../models/email_change.js';
import type { SecurityEventRow } from '../models/security_event.js';
import type { SecurityActivityRepository } from '../repository/security_activity_repository.js';

/** How far back an owner sees their own activity. */
export const OWNER_WINDOW_DAYS = 90;
const DEFAULT_PAGE = 20;
const OWN_SORT = 'security-events';
const ADMIN_SORT = 'admin-security-events';

function before(cursor: string | undefined, sort: string): { createdAt: string; id: string } | undefined {
  const keys = decodeCursor(cursor, sort, ['timestamp', 'uuid']);
  return keys ? { createdAt: keys[0] as string, id: keys[1] as string } : undefined;
}

const keysOf = (row: SecurityEventRow) => [row.created_at.toISOString(), row.id];

export class SecurityActivityService {
  constructor(private readonly events: SecurityActivityRepository) {}

  async listOwn(principal: Principal, query: SecurityEventQuery): Promise<{ items: SecurityEventView[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const rows = await this.events.list({
      userId: principal.sub,
      event: query.event,
      maxAgeDays: OWNER_WINDOW_DAYS,
      before: before(query.cursor, OWN_SORT),
      limit: limit + 1,
    });
    return keysetPage(rows, limit, OWN_SORT, toSecurityEventView, keysOf);
  }

  async adminList(query: AdminSecurityEventQuery): Promise<{ items: AdminSecurityEventView[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const rows = await this.events.list({ userId: query.userId, event: query.event, before: before(query.cursor, ADMIN_SORT), limit: limit + 1 });
    return keysetPage(rows, limit, ADMIN_SORT, toAdminSecurityEventView, keysOf);
  }
}

/** A table whose old rows the retention purge deletes in batches. */
export interface Purgeable {
  purgeBatch(retentionDays: number, batchSize: number): Promise<number>;
}

export interface RetentionOptions {
  retentionDays: number;
  intervalSec: number;
  batchSize: number;
}

/**
 * Deletes security events older than the retention, in batches (one short statement each, so a large
 * backlog never holds a long lock), on a timer like the delivery worker's: runs never overlap, the next
 * is scheduled when one ends, a stop waits for the run in flight. Several replicas may run it at once:
 * each batch skips the rows another one has locked.
 */
export class SecurityEventRetention {
  private running = false;
  private stopRequested = false;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<number> | undefined;

  constructor(
    private readonly events: SecurityActivityRepository,
    private readonly options: RetentionOptions,
    private readonly logger: Logger,
    /** Other security records kept as long as the events (e-mail change requests), purged the same way. */
    private readonly alongside: Purgeable[] = [],
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopRequested = false;
    this.generation += 1;
    this.schedule(0, this.generation);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }

  /** One purge: for each table, batches until a batch comes back short. Returns how many rows went. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (const table of [this.events, ...this.alongside]) {
      for (;;) {
        const n = await table.purgeBatch(this.options.retentionDays, this.options.batchSize);
        total += n;
        // A stop during a long backlog ends the run after the batch in hand; the rest waits for the next start.
        if (n < this.options.batchSize || this.stopRequested) break;
      }
    }
    return total;
  }

  private schedule(delayMs: number, generation: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick(generation);
    }, delayMs);
    this.timer.unref();
  }

  private async tick(generation: number): Promise<void> {
    if (!this.running || generation !== this.generation) return;
    this.current = this.runOnce();
    try {
      const purged = await this.current;
      if (purged > 0) this.logger.info({ purged, retentionDays: this.options.retentionDays }, 'security events purged');
    } catch (err) {
      this.logger.warn({ err }, 'security event purge failed; trying again at the next interval');
    } finally {
      this.current = undefined;
    }
    if (this.running && generation === this.generation) this.schedule(this.options.intervalSec * 1000, generation);
  }
}
