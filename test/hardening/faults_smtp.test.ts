/**
 * Fault: the SMTP relay goes away (auth-service, a real SMTP server behind a TCP proxy).
 *
 * Proves: while SMTP is cut, registering and asking for a reset still answer 202 (the mail is in the
 * outbox, written with the change); each mail stays `queued`, its attempts grow and `last_error` says
 * why, it is never failed for good by a transient outage and never reaches the server; after restore()
 * each mail arrives exactly once (one Message-ID) and its row ends `sent`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { TestSmtp } from '../helpers/smtp.js';
import { TcpProxy } from '../helpers/tcp_proxy.js';
import { outboxesSettled } from '../helpers/outbox.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface MailRow {
  id: string;
  template: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}

describe.skipIf(!hasPostgres)('fault: SMTP gone', () => {
  let smtp: TestSmtp;
  let proxy: TcpProxy;
  let a: AuthHarness;

  beforeAll(async () => {
    smtp = await new TestSmtp().start();
    proxy = await new TcpProxy(smtp.url).listen();
    a = await startAuth(
      {
        // Many attempts, short backoff: the outage outlasts several retries without failing the mail for good.
        mail: { smtpUrl: proxy.urlFor(smtp.url), pollIntervalMs: 30, backoffBaseMs: 50, backoffMaxMs: 200, leaseMs: 2000, maxAttempts: 1000 },
      },
      { smtp },
    );
  });

  afterAll(async () => {
    await a?.close();
    await proxy?.close();
    await smtp?.stop();
  });

  async function mailsTo(email: string): Promise<MailRow[]> {
    const { rows } = await a.database.db.query<MailRow>(
      'SELECT id, template, status, attempts, last_error, sent_at FROM notifications WHERE recipient = $1 ORDER BY created_at',
      [email],
    );
    return rows;
  }

  async function register(email: string): Promise<void> {
    const res = await a.call('POST', '/api/v1/auth/register', { body: { email, password: 'Tq8-vex-Plo-93z-kWm', displayName: 'Mail Fault' } });
    expect(res.status, res.text).toBe(202);
  }

  it('keeps mail queued with its error while SMTP is cut, then delivers each mail exactly once', async () => {
    // Through the proxy, mail flows.
    const first = `smtp-ok-${Date.now()}@example.com`;
    await register(first);
    await smtp.waitFor((m) => m.to.includes(first));
    expect(proxy.stats.accepted).toBeGreaterThan(0);
    // Cut only once the worker has seen the server's 250: a cut between the server taking the message
    // and the worker reading its answer is the at-least-once window (the copy would be resent, with the
    // same Message-ID for the receiver to drop), not what this test is about.
    for (const end = Date.now() + 5000; (await mailsTo(first))[0]?.status !== 'sent'; await sleep(20)) {
      if (Date.now() > end) throw new Error('the first mail was not marked sent');
    }

    await proxy.cut();
    const waiting = `smtp-cut-${Date.now()}@example.com`;
    await register(waiting);
    const forgot = await a.call('POST', '/api/v1/auth/password/forgot', { body: { email: first } });
    expect(forgot.status).toBe(202);

    // Retried and refused again and again, but still queued.
    const deadline = Date.now() + 8000;
    let rows: MailRow[] = [];
    for (;;) {
      rows = [...(await mailsTo(waiting)), ...(await mailsTo(first)).filter((r) => r.template !== 'verify_email')];
      if (rows.length === 2 && rows.every((r) => r.attempts >= 4)) break;
      if (Date.now() > deadline) throw new Error(`mail not retried: ${JSON.stringify(rows)}`);
      await sleep(50);
    }
    await sleep(300);
    rows = [...(await mailsTo(waiting)), ...(await mailsTo(first)).filter((r) => r.template !== 'verify_email')];
    for (const row of rows) {
      expect(row.status).toBe('queued');
      expect(row.sent_at).toBeNull();
      expect(row.last_error).toMatch(/ECONNRESET/);
    }
    const attemptsWhileCut = rows.map((r) => r.attempts);
    expect(smtp.to(waiting)).toEqual([]);
    expect(smtp.to(first)).toHaveLength(1);
    expect(proxy.stats.refused).toBeGreaterThanOrEqual(8);

    await proxy.restore();
    const arrived = await smtp.waitFor((m) => m.to.includes(waiting));
    await smtp.waitFor((m) => m.to.includes(first) && m.messageId !== smtp.to(first)[0]!.messageId);
    // Nothing left queued, so nothing more can be sent: the counts below are final.
    await outboxesSettled({ auth: a.database.db });
    expect(smtp.to(waiting)).toHaveLength(1);
    expect(smtp.to(first)).toHaveLength(2);
    const after = [...(await mailsTo(waiting)), ...(await mailsTo(first)).filter((r) => r.template !== 'verify_email')];
    for (const [i, row] of after.entries()) {
      expect(row.status).toBe('sent');
      expect(row.sent_at).not.toBeNull();
      expect(row.attempts).toBeGreaterThan(attemptsWhileCut[i]!);
    }
    expect(arrived.messageId).toBe(`<${after[0]!.id}@course-platform.local>`);
  });
});
