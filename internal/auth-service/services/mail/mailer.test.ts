import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { FileMailer, MemoryMailer, SmtpMailer, createMailer, type OutgoingMail } from './mailer.js';

const FROM = 'Course Platform <no-reply@course-platform.test>';

function newMail(overrides: Partial<OutgoingMail> = {}): OutgoingMail {
  const id = Math.random().toString(36).slice(2);
  return {
    to: 'ada@example.test',
    subject: 'Подтвердите адрес — Course Platform',
    text: 'Hello Ada,\nconfirm: https://app.test/verify?token=abc\n',
    html: '<p>Hello <strong>Ada</strong></p>',
    messageId: `<${id}@course-platform.test>`,
    headers: { 'List-Unsubscribe': '<https://app.test/unsubscribe?token=u>' },
    ...overrides,
  };
}

// mailparser folds List-* headers into one `list` entry, so read the raw header line.
function headerLine(parsed: ParsedMail, key: string): string | undefined {
  return parsed.headerLines.find((h) => h.key === key)?.line;
}

function toAddress(parsed: ParsedMail): string | undefined {
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  return to?.value[0]?.address;
}

describe('FileMailer', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mailer-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one parseable .eml per message into a directory it creates', async () => {
    const target = path.join(dir, 'nested', 'mail');
    const mailer = new FileMailer({ dir: target, from: FROM });
    await mailer.verify();
    const mail = newMail();

    const { location } = await mailer.send(mail);

    expect(location).toBeDefined();
    expect(path.dirname(location!)).toBe(target);
    const name = path.basename(location!);
    expect(name).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}\.\d{3}Z-[A-Za-z0-9._@-]+\.eml$/);
    expect(name).not.toMatch(/[<>:]/);
    expect(await readdir(target)).toEqual([name]);

    const raw = await readFile(location!);
    expect(raw.includes('\r\n')).toBe(false);
    const parsed = await simpleParser(raw);
    expect(toAddress(parsed)).toBe(mail.to);
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.messageId).toBe(mail.messageId);
    expect(parsed.text).toBe(mail.text);
    expect(parsed.html).toContain('<strong>Ada</strong>');
    expect(headerLine(parsed, 'list-unsubscribe')).toBe('List-Unsubscribe: <https://app.test/unsubscribe?token=u>');
    expect(parsed.from?.text).toContain('no-reply@course-platform.test');
    await mailer.close();
  });

  it('adds angle brackets to a bare message id', async () => {
    const mailer = new FileMailer({ dir, from: FROM });
    const { location } = await mailer.send(newMail({ messageId: 'bare-id@course-platform.test' }));
    const parsed = await simpleParser(await readFile(location!));
    expect(parsed.messageId).toBe('<bare-id@course-platform.test>');
  });

  it('refuses headers that would override its own or break the header block', async () => {
    const mailer = new FileMailer({ dir, from: FROM });
    await expect(mailer.send(newMail({ headers: { 'Message-ID': '<x@y>' } }))).rejects.toThrow('not allowed');
    await expect(mailer.send(newMail({ headers: { 'X-Test': 'a\r\nBcc: evil@example.test' } }))).rejects.toThrow(
      'line breaks',
    );
  });
});

describe('SmtpMailer against a real SMTP server', () => {
  interface Received {
    envelopeTo: string[];
    parsed: ParsedMail;
  }
  let server: SMTPServer | undefined;
  let received: Received[] = [];

  async function startServer(handlers: Partial<SMTPServerOptions> = {}): Promise<string> {
    received = [];
    const instance = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), parsed });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
      ...handlers,
    });
    server = instance;
    await new Promise<void>((resolve, reject) => {
      instance.server.once('error', reject);
      instance.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = instance.server.address() as AddressInfo;
    return `smtp://127.0.0.1:${port}`;
  }

  afterEach(async () => {
    const instance = server;
    server = undefined;
    if (instance) await new Promise<void>((resolve) => instance.close(() => resolve()));
  });

  function smtpError(message: string, responseCode: number): Error {
    return Object.assign(new Error(message), { responseCode });
  }

  it('delivers the message with its Message-ID, headers and both parts', async () => {
    const url = await startServer();
    const mailer = new SmtpMailer({ smtpUrl: url, from: FROM, timeoutMs: 5_000 });
    await mailer.verify();
    const mail = newMail();

    await mailer.send(mail);
    await mailer.close();

    expect(received).toHaveLength(1);
    const [first] = received;
    expect(first!.envelopeTo).toEqual([mail.to]);
    expect(first!.parsed.messageId).toBe(mail.messageId);
    expect(first!.parsed.subject).toBe(mail.subject);
    expect(first!.parsed.text).toBe(mail.text);
    expect(first!.parsed.html).toContain('<strong>Ada</strong>');
    expect(headerLine(first!.parsed, 'list-unsubscribe')).toBe(
      'List-Unsubscribe: <https://app.test/unsubscribe?token=u>',
    );
  });

  it('keeps the Message-ID when the same mail is sent again (retry)', async () => {
    const url = await startServer();
    const mailer = new SmtpMailer({ smtpUrl: url, from: FROM, timeoutMs: 5_000 });
    const mail = newMail();
    await mailer.send(mail);
    await mailer.send(mail);
    expect(received.map((r) => r.parsed.messageId)).toEqual([mail.messageId, mail.messageId]);
  });

  it('rejects with the SMTP response code when the server refuses the recipient', async () => {
    const url = await startServer({
      onRcptTo(_address, _session, callback) {
        callback(smtpError('Mailbox temporarily unavailable', 451));
      },
    });
    const mailer = new SmtpMailer({ smtpUrl: url, from: FROM, timeoutMs: 5_000 });
    await expect(mailer.send(newMail())).rejects.toMatchObject({ responseCode: 451 });
    expect(received).toHaveLength(0);
  });

  it('rejects with the SMTP response code when the server refuses the data', async () => {
    const url = await startServer({
      onData(stream, _session, callback) {
        stream.on('data', () => undefined);
        stream.on('end', () => callback(smtpError('Try again later', 451)));
      },
    });
    const mailer = new SmtpMailer({ smtpUrl: url, from: FROM, timeoutMs: 5_000 });
    const error = await mailer.send(newMail()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ responseCode: 451 });
  });

  it('rejects when no server listens', async () => {
    const url = await startServer();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const mailer = new SmtpMailer({ smtpUrl: url, from: FROM, timeoutMs: 2_000 });
    await expect(mailer.send(newMail())).rejects.toBeInstanceOf(Error);
  });
});

describe('MemoryMailer', () => {
  it('keeps sent mails and can fail the next send', async () => {
    const mailer = new MemoryMailer();
    const mail = newMail();
    await expect(mailer.send(mail)).resolves.toEqual({ location: 'memory:0' });
    expect(mailer.sent).toEqual([mail]);

    mailer.failNext(new Error('boom'));
    await expect(mailer.send(mail)).rejects.toThrow('boom');
    await mailer.send(mail);
    expect(mailer.sent).toHaveLength(2);
  });
});

describe('createMailer', () => {
  it('picks SMTP when a URL is set and files otherwise', async () => {
    const smtp = createMailer({ smtpUrl: 'smtp://127.0.0.1:2525', mailDir: 'var/mail', from: FROM });
    const file = createMailer({ smtpUrl: '', mailDir: 'var/mail', from: FROM });
    expect(smtp.kind).toBe('smtp');
    expect(file.kind).toBe('file');
    await smtp.close();
    await file.close();
  });
});
