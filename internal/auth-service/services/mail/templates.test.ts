import { describe, it, expect } from 'vitest';
import { MAIL_TEMPLATES, escapeHtml, formatLifetime, isMailTemplate, renderMail, type MailTemplate } from './templates.js';

// Complete, valid data for every template.
const SAMPLE: Record<MailTemplate, Record<string, unknown>> = {
  verify_email: { displayName: 'Ada', link: 'https://app.test/verify-email?token=abc' },
  account_exists: {
    displayName: 'Ada',
    loginLink: 'https://app.test/login',
    resetLink: 'https://app.test/password/forgot',
  },
  password_reset: { displayName: 'Ada', link: 'https://app.test/password/reset?token=abc' },
  password_changed: { displayName: 'Ada', changedAt: '2025-03-12T14:05:00.000Z', resetLink: 'https://app.test/password/forgot' },
  review_created: {
    displayName: 'Ada',
    courseTitle: 'TypeScript basics',
    rating: 4,
    reviewTitle: 'Clear and useful',
    reviewBody: 'Loved the exercises.',
    authorName: 'Bob',
    courseLink: 'https://app.test/courses/ts-basics',
    unsubscribeLink: 'https://app.test/unsubscribe?token=u',
  },
  review_hidden: {
    displayName: 'Ada',
    courseTitle: 'TypeScript basics',
    reviewTitle: 'Spam',
    reason: 'Advertising',
    unsubscribeLink: 'https://app.test/unsubscribe?token=u',
  },
  enrolment_created: { displayName: 'Ada', courseTitle: 'TypeScript basics', courseLink: 'https://app.test/courses/ts-basics' },
  course_completed: {
    displayName: 'Ada',
    courseTitle: 'TypeScript basics',
    certificateLink: 'https://app.test/certificates/AbCdEf0123456789xyzXYZ',
  },
  course_announcement: {
    displayName: 'Ada',
    courseTitle: 'TypeScript basics',
    instructorName: 'Grace',
    subject: 'New module on generics',
    body: 'Section 4 now covers generics, with three new exercises.',
    courseLink: 'https://app.test/courses/ts-basics',
    unsubscribeLink: 'https://app.test/unsubscribe?token=a',
  },
  mfa_enabled: { displayName: 'Ada', changedAt: '2025-03-12T14:05:00.000Z', ip: '203.0.113.7', resetLink: 'https://app.test/password/forgot' },
  mfa_disabled: { displayName: 'Ada', changedAt: '2025-03-12T14:05:00.000Z', ip: '203.0.113.7', resetLink: 'https://app.test/password/forgot' },
  new_device_login: {
    displayName: 'Ada',
    signedInAt: '2025-03-12T14:05:00.000Z',
    ip: '203.0.113.7',
    device: 'Firefox, Linux',
    notMeLink: 'https://auth.test/api/v1/auth/pages/not-me?token=abc',
    validMinutes: 4320,
  },
  email_change_confirm_new: { displayName: 'Ada', link: 'https://app.test/email-change?token=n', validMinutes: 1440 },
  email_change_approve_old: {
    displayName: 'Ada',
    newEmail: 'ada.new@example.com',
    link: 'https://app.test/email-change?token=o',
    cancelLink: 'https://app.test/email-change-cancel?token=c',
    validMinutes: 1440,
  },
  email_change_address_in_use: { displayName: 'Ada', loginLink: 'https://app.test/login' },
  email_changed: { displayName: 'Ada', newEmail: 'ada.new@example.com', changedAt: '2025-03-12T14:05:00.000Z', loginLink: 'https://app.test/login' },
  account_deletion_scheduled: { displayName: 'Ada', link: 'https://app.test/cancel-deletion?token=abc', purgeAt: '2025-03-26T14:05:00.000Z' },
};

// Fields whose absence must make rendering throw.
const REQUIRED: Record<MailTemplate, string[]> = {
  verify_email: ['displayName', 'link'],
  account_exists: ['displayName', 'loginLink', 'resetLink'],
  password_reset: ['displayName', 'link'],
  password_changed: ['displayName', 'changedAt'],
  review_created: ['displayName', 'courseTitle', 'rating', 'authorName', 'unsubscribeLink'],
  review_hidden: ['displayName', 'courseTitle'],
  enrolment_created: ['displayName', 'courseTitle'],
  course_completed: ['displayName', 'courseTitle', 'certificateLink'],
  course_announcement: ['displayName', 'courseTitle', 'instructorName', 'subject', 'body', 'unsubscribeLink'],
  mfa_enabled: ['displayName', 'changedAt'],
  mfa_disabled: ['displayName', 'changedAt'],
  new_device_login: ['displayName', 'signedInAt', 'device', 'ip', 'notMeLink'],
  email_change_confirm_new: ['displayName', 'link'],
  email_change_approve_old: ['displayName', 'newEmail', 'link', 'cancelLink'],
  email_change_address_in_use: ['displayName', 'loginLink'],
  email_changed: ['displayName', 'newEmail', 'changedAt', 'loginLink'],
  account_deletion_scheduled: ['displayName', 'link', 'purgeAt'],
};

const LINK_FIELDS: Record<MailTemplate, string[]> = {
  verify_email: ['link'],
  account_exists: ['loginLink', 'resetLink'],
  password_reset: ['link'],
  password_changed: ['resetLink'],
  review_created: ['courseLink', 'unsubscribeLink'],
  review_hidden: ['unsubscribeLink'],
  enrolment_created: ['courseLink'],
  course_completed: ['certificateLink'],
  course_announcement: ['courseLink', 'unsubscribeLink'],
  mfa_enabled: ['resetLink'],
  mfa_disabled: ['resetLink'],
  new_device_login: ['notMeLink'],
  email_change_confirm_new: ['link'],
  email_change_approve_old: ['link', 'cancelLink'],
  email_change_address_in_use: ['loginLink'],
  email_changed: ['loginLink'],
  account_deletion_scheduled: ['link'],
};

function without(data: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...data };
  delete copy[field];
  return copy;
}

describe('renderMail', () => {
  it('knows every template', () => {
    expect([...MAIL_TEMPLATES].sort()).toEqual(Object.keys(SAMPLE).sort());
    for (const t of MAIL_TEMPLATES) expect(isMailTemplate(t)).toBe(true);
    expect(isMailTemplate('nope')).toBe(false);
  });

  describe.each(MAIL_TEMPLATES.map((t) => [t] as const))('%s', (template) => {
    it('renders non-empty parts in both locales, Russian differs from English', () => {
      const en = renderMail(template, 'en', SAMPLE[template]);
      const ru = renderMail(template, 'ru', SAMPLE[template]);
      for (const mail of [en, ru]) {
        expect(mail.subject.trim()).not.toBe('');
        expect(mail.text.trim()).not.toBe('');
        expect(mail.html).toContain('<html');
        expect(mail.text).toContain('Course Platform');
        expect(mail.html).toContain('Course Platform');
      }
      expect(ru.subject).not.toBe(en.subject);
      expect(ru.text).not.toBe(en.text);
      expect(ru.html).not.toBe(en.html);
      expect(ru.text).toMatch(/[а-яё]/i);
      expect(ru.html).toContain('lang="ru"');
      expect(en.html).toContain('lang="en"');
    });

    it('escapes every value in the HTML part', () => {
      const hostile = '<script>alert("x")</script>';
      const data: Record<string, unknown> = { ...SAMPLE[template] };
      for (const [key, value] of Object.entries(data)) {
        if (typeof value === 'string' && !LINK_FIELDS[template].includes(key) && !['changedAt', 'signedInAt', 'purgeAt'].includes(key)) {
          data[key] = hostile;
        }
      }
      for (const locale of ['en', 'ru'] as const) {
        const mail = renderMail(template, locale, data);
        expect(mail.html).not.toContain('<script');
        expect(mail.html).toContain(escapeHtml(hostile));
        // The text part is plain text: the value appears as given.
        expect(mail.text).toContain(hostile);
        expect(mail.subject).not.toMatch(/[\r\n]/);
      }
    });

    it('renders its links as links and refuses non-http links', () => {
      const links = LINK_FIELDS[template];
      expect(links, 'a template without links needs a test of its own').not.toHaveLength(0);
      const good = renderMail(template, 'en', SAMPLE[template]);
      for (const field of links) {
        expect(good.html).toContain(`href="${escapeHtml(String(SAMPLE[template][field]))}"`);
        expect(good.text).toContain(String(SAMPLE[template][field]));
      }

      const data: Record<string, unknown> = { ...SAMPLE[template] };
      for (const field of links) data[field] = 'javascript:alert(1)';
      const bad = renderMail(template, 'en', data);
      expect(bad.html).not.toMatch(/href="javascript:/i);
      expect(bad.html).not.toMatch(/<a\b/i);
      // Still visible as text, so the reader is not left with a silently missing action.
      expect(bad.html).toContain('javascript:alert(1)');
    });

    it('throws naming each missing required field', () => {
      for (const field of REQUIRED[template]) {
        expect(() => renderMail(template, 'en', without(SAMPLE[template], field))).toThrow(field);
        expect(() => renderMail(template, 'ru', { ...SAMPLE[template], [field]: '' })).toThrow(field);
      }
    });
  });

  it('shows the rating as n/5 with stars and refuses a rating outside 1..5', () => {
    const mail = renderMail('review_created', 'en', SAMPLE.review_created);
    expect(mail.text).toContain('4/5 ★★★★☆');
    expect(mail.html).toContain('4/5');
    expect(mail.html).toContain('★★★★☆');
    for (const rating of [0, 6, 3.5, '4']) {
      expect(() => renderMail('review_created', 'en', { ...SAMPLE.review_created, rating })).toThrow('rating');
    }
  });

  it('renders the optional review fields only when present', () => {
    const minimal = without(
      without(without(SAMPLE.review_created, 'reviewTitle'), 'reviewBody'),
      'courseLink',
    );
    const mail = renderMail('review_created', 'ru', minimal);
    expect(mail.html).not.toContain('<blockquote');
    expect(mail.text).not.toContain('Открыть курс');

    const hidden = renderMail('review_hidden', 'en', { displayName: 'Ada', courseTitle: 'TS' });
    expect(hidden.text).not.toContain('Reason');
    expect(hidden.html).not.toContain('<a ');

    const changed = renderMail('password_changed', 'en', without(SAMPLE.password_changed, 'resetLink'));
    expect(changed.html).not.toContain('<a ');
    expect(changed.text).not.toContain('Reset password');
  });

  it('formats changedAt in the locale and refuses a non-date', () => {
    expect(renderMail('password_changed', 'en', SAMPLE.password_changed).text).toContain('12 March 2025');
    expect(renderMail('password_changed', 'ru', SAMPLE.password_changed).text).toContain('12 марта 2025');
    expect(() =>
      renderMail('password_changed', 'en', { ...SAMPLE.password_changed, changedAt: 'yesterday' }),
    ).toThrow('changedAt');
  });

  it('states the link lifetime the mail data carries, in both languages', () => {
    const verify = (locale: 'en' | 'ru', validMinutes?: number) =>
      renderMail('verify_email', locale, { ...SAMPLE.verify_email, ...(validMinutes !== undefined && { validMinutes }) }).text;
    const reset = (locale: 'en' | 'ru', validMinutes?: number) =>
      renderMail('password_reset', locale, { ...SAMPLE.password_reset, ...(validMinutes !== undefined && { validMinutes }) }).text;
    // The defaults (24 h, 60 min) read as they always did, with or without the field.
    for (const minutes of [undefined, 24 * 60]) {
      expect(verify('en', minutes)).toContain('The link is valid for 24 hours.');
      expect(verify('ru', minutes)).toContain('Ссылка действует 24 часа.');
    }
    for (const minutes of [undefined, 60]) {
      expect(reset('en', minutes)).toContain('The link is valid for 1 hour and works only once.');
      expect(reset('ru', minutes)).toContain('Ссылка действует в течение часа, воспользоваться');
    }
    expect(verify('en', 2 * 60)).toContain('The link is valid for 2 hours.');
    expect(verify('ru', 2 * 60)).toContain('Ссылка действует 2 часа.');
    expect(verify('ru', 5 * 60)).toContain('Ссылка действует 5 часов.');
    expect(verify('en', 72 * 60)).toContain('valid for 3 days.');
    expect(verify('ru', 72 * 60)).toContain('действует 3 дня.');
    expect(reset('en', 30)).toContain('The link is valid for 30 minutes and works only once.');
    expect(reset('ru', 30)).toContain('Ссылка действует 30 минут, воспользоваться');
    expect(reset('ru', 21)).toContain('Ссылка действует 21 минуту,');
    for (const validMinutes of [0, 1.5, '60']) {
      expect(() => renderMail('password_reset', 'en', { ...SAMPLE.password_reset, validMinutes })).toThrow('validMinutes');
    }
  });

  it('words lifetimes with the plural forms of each language', () => {
    const cases: [number, string, string][] = [
      [1, '1 minute', 'в течение минуты'],
      [2, '2 minutes', '2 минуты'],
      [11, '11 minutes', '11 минут'],
      [21, '21 minutes', '21 минуту'],
      [90, '90 minutes', '90 минут'],
      [60, '1 hour', 'в течение часа'],
      [3 * 60, '3 hours', '3 часа'],
      [21 * 60, '21 hours', '21 час'],
      [24 * 60, '24 hours', '24 часа'],
      [25 * 60, '25 hours', '25 часов'],
      [48 * 60, '2 days', '2 дня'],
      [5 * 24 * 60, '5 days', '5 дней'],
    ];
    for (const [minutes, en, ru] of cases) {
      expect(formatLifetime(minutes, 'en')).toBe(en);
      expect(formatLifetime(minutes, 'ru')).toBe(ru);
    }
  });

  it('rejects an unknown template', () => {
    expect(() => renderMail('nope' as MailTemplate, 'en', {})).toThrow('unknown mail template');
  });
});
