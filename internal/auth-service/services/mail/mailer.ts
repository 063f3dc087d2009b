// Mail delivery behind one interface (as supabase/auth's mailer.Mailer): SMTP for real
// deployments, .eml files for embedded mode and local work, memory for unit tests.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, unlink, writeFile, access, constants as fsConstants } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { SendMailOptions, SMTPTransportOptions, Transporter } from 'nodemailer';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Becomes the Message-ID header (angle brackets added when missing), so receivers can de-duplicate retries. */
  messageId: string;
  /** Extra headers, e.g. List-Unsubscribe. */
  headers?: Record<string, string>;
}

export interface Mailer {
  readonly kind: 'smtp' | 'file' | 'memory';
  send(mail: OutgoingMail): Promise<{ location?: string }>;
  verify(): Promise<void>;
  close(): Promise<void>;
}

// Headers the mailer sets itself; letting `headers` override them would make a second,
// conflicting copy or defeat the Message-ID de-duplication.
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

// RFC 5322 field name: printable US-ASCII except ":".
const HEADER_NAME = /^[!-9;-~]+$/;

function toMailOptions(from: string, mail: OutgoingMail): SendMailOptions {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(mail.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new Error(`mail header "${name}" is not allowed`);
    }
    if (/[\r\n]/.test(value)) throw new Error(`mail header "${name}" must not contain line breaks`);
    headers[name] = value;
  }
  return {
    from,
    // An address object, not a string: a string would be parsed as a list and could fan out.
    to: { name: '', address: mail.to },
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    headers,
  };
}

export interface SmtpMailerOptions {
  /** e.g. smtp://user:pass@mail.example.com:587 or smtps://...:465 */
  smtpUrl: string;
  from: string;
  /** Connection, greeting and socket timeout; a hung server must not hold an outbox worker for minutes. */
  timeoutMs?: number;
  /** Extra nodemailer SMTP options (tls, ignoreTLS, ...), applied over the defaults. */
  transport?: SMTPTransportOptions;
}

export class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transporter: Transporter;
  private readonly from: string;

  constructor(opts: SmtpMailerOptions) {
    const timeout = opts.timeoutMs ?? 10_000;
    this.from = opts.from;
    this.transporter = nodemailer.createTransport({
      url: opts.smtpUrl,
      // No pool: the outbox worker sends in small bursts, and a fresh connection per mail
      // never inherits a half-broken session from an earlier failure.
      pool: false,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      ...opts.transport,
    });
  }

  async send(mail: OutgoingMail): Promise<{ location?: string }> {
    // Errors from nodemailer are rethrown as they are: they carry `responseCode` (and
    // `permanent`) from the SMTP reply, which the outbox worker uses to decide on a retry.
    const info = await this.transporter.sendMail(toMailOptions(this.from, mail));
    const rejected: unknown[] = Array.isArray(info.rejected) ? info.rejected : [];
    if (rejected.length > 0) {
      // One recipient per mail, so a partial acceptance is a failure to deliver it.
      const first = Array.isArray(info.rejectedErrors) ? (info.rejectedErrors[0] as unknown) : undefined;
      if (first instanceof Error) throw first;
      throw new Error(`SMTP server rejected recipient ${String(rejected[0])}`);
    }
    return {};
  }

  async verify(): Promise<void> {
    await this.transporter.verify();
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

export interface FileMailerOptions {
  /** Directory for the .eml files, created when missing (embedded mode uses var/mail). */
  dir: string;
  from: string;
}

export class FileMailer implements Mailer {
  readonly kind = 'file' as const;
  private readonly transporter: Transporter;
  private readonly dir: string;
  private readonly from: string;

  constructor(opts: FileMailerOptions) {
    this.dir = opts.dir;
    this.from = opts.from;
    // Builds the exact MIME message SMTP would carry, with unix newlines so the files read well.
    this.transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async send(mail: OutgoingMail): Promise<{ location?: string }> {
    const info = await this.transporter.sendMail(toMailOptions(this.from, mail));
    const message: unknown = info.message;
    if (!Buffer.isBuffer(message)) throw new Error('stream transport did not return a buffer');

    await mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/:/g, '');
    const file = path.join(this.dir, `${stamp}-${sanitizeForFileName(mail.messageId)}.eml`);
    // Write then rename, so anything watching the directory never reads half a message.
    const tmp = path.join(this.dir, `.${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, message);
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return { location: file };
  }

  async verify(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await access(this.dir, fsConstants.W_OK);
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}

function sanitizeForFileName(messageId: string): string {
  const safe = messageId
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@-]+/g, '_')
    .slice(0, 120);
  return safe || 'message';
}

/** Keeps mails in `sent`; for unit tests that need no SMTP server and no disk. */
export class MemoryMailer implements Mailer {
  readonly kind = 'memory' as const;
  readonly sent: OutgoingMail[] = [];
  private readonly failures: Error[] = [];

  /** Makes the next send reject with `error` (once per call), to test retry paths. */
  failNext(error: Error): void {
    this.failures.push(error);
  }

  async send(mail: OutgoingMail): Promise<{ location?: string }> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push({ ...mail, ...(mail.headers && { headers: { ...mail.headers } }) });
    return { location: `memory:${this.sent.length - 1}` };
  }

  async verify(): Promise<void> {}

  async close(): Promise<void> {}
}

/** SMTP when a URL is configured, otherwise one .eml file per mail in `mailDir`. */
export function createMailer(opts: { smtpUrl: string; mailDir: string; from: string }): Mailer {
  if (opts.smtpUrl.trim() !== '') return new SmtpMailer({ smtpUrl: opts.smtpUrl.trim(), from: opts.from });
  return new FileMailer({ dir: opts.mailDir, from: opts.from });
}
