/** A real SMTP server for tests (the `smtp-server` package), keeping parsed mails and able to refuse. */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface CapturedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  raw: string;
}

export class TestSmtp {
  readonly mails: CapturedMail[] = [];
  /** While > 0, each message is refused with 451 (temporary) and the counter drops. */
  refuseNext = 0;
  /** While true, every message is refused with 451. */
  refuseAll = false;
  private server!: SMTPServer;
  url = '';

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refuseAll || this.refuseNext > 0) {
            if (this.refuseNext > 0) this.refuseNext--;
            const err = Object.assign(new Error('Try again later'), { responseCode: 451 });
            return callback(err);
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw).then(
            (parsed: ParsedMail) => {
              const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
              this.mails.push({
                to: to ?? '',
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                messageId: parsed.messageId ?? '',
                raw,
              });
              callback();
            },
            (err: Error) => callback(err),
          );
        });
      },
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Waits until a mail matching `pred` arrives. */
  async waitFor(pred: (m: CapturedMail) => boolean, timeoutMs = 10_000): Promise<CapturedMail> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.mails.find(pred);
      if (found) return found;
      if (Date.now() > end) throw new Error(`No matching mail within ${timeoutMs} ms (have ${this.mails.length}: ${this.mails.map((m) => `${m.to}/${m.subject}`).join('; ')})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  to(address: string): CapturedMail[] {
    return this.mails.filter((m) => m.to.includes(address));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The one-time token from the link in a mail's text part. */
export function tokenFrom(mail: CapturedMail): string {
  const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m) throw new Error(`No token link in mail "${mail.subject}"`);
  return m[1]!;
}
