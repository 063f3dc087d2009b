// Mail templates as plain functions: every template describes its content once as a few
// blocks per locale, and one renderer turns those blocks into the text and the HTML part,
// so the two parts cannot drift apart and every value passes through one escaping point.

export const MAIL_TEMPLATES = [
  'verify_email',
  'account_exists',
  'password_reset',
  'password_changed',
  'review_created',
  'review_hidden',
] as const;

export type MailTemplate = (typeof MAIL_TEMPLATES)[number];
export type MailLocale = 'en' | 'ru';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export const PRODUCT_NAME = 'Course Platform';

export function isMailTemplate(value: unknown): value is MailTemplate {
  return typeof value === 'string' && (MAIL_TEMPLATES as readonly string[]).includes(value);
}

/** Escapes a value for HTML text and for double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Only http(s) URLs become links; anything else (javascript:, data:, ...) is shown as text. */
export function isSafeLink(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Content model

type Inline = string | { strong: string };

type Block =
  | { kind: 'p'; parts: Inline[] }
  | { kind: 'button'; label: string; href: string }
  | { kind: 'quote'; title?: string; body?: string }
  | { kind: 'rating'; label: string; rating: number };

interface Content {
  subject: string;
  blocks: Block[];
  /** Why the person gets this mail; shown small under the content. */
  footer: string;
  unsubscribe?: { label: string; href: string };
}

const p = (...parts: Inline[]): Block => ({ kind: 'p', parts });
const b = (value: string): Inline => ({ strong: value });
const button = (label: string, href: string): Block => ({ kind: 'button', label, href });

// A review body can be long; the mail shows the start and the course page shows the rest.
const MAX_QUOTE_CHARS = 1000;

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max).trimEnd()}…` : value;
}

function stars(rating: number): string {
  return '★'.repeat(rating) + '☆'.repeat(5 - rating);
}

function formatDateTime(date: Date, locale: MailLocale): string {
  // UTC, stated explicitly: the worker does not know the reader's time zone.
  const formatted = new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
    dateStyle: 'long',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(date);
  return `${formatted} UTC`;
}

// ---------------------------------------------------------------------------------------------
// Data validation

class TemplateData {
  constructor(
    private readonly template: MailTemplate,
    private readonly data: Record<string, unknown>,
  ) {}

  private fail(message: string): never {
    throw new Error(`mail template "${this.template}": ${message}`);
  }

  required(name: string): string {
    const value = this.data[name];
    if (value === undefined || value === null || value === '') {
      this.fail(`missing required field "${name}"`);
    }
    if (typeof value !== 'string') this.fail(`field "${name}" must be a string`);
    return value;
  }

  optional(name: string): string | undefined {
    const value = this.data[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') this.fail(`field "${name}" must be a string`);
    return value;
  }

  rating(name: string): number {
    const value = this.data[name];
    if (value === undefined || value === null) this.fail(`missing required field "${name}"`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 5) {
      this.fail(`field "${name}" must be an integer from 1 to 5`);
    }
    return value;
  }

  date(name: string): Date {
    const value = this.required(name);
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) this.fail(`field "${name}" must be an ISO date string`);
    return date;
  }
}

// ---------------------------------------------------------------------------------------------
// Templates: each reads its data, then gives the content in both locales side by side.

const AUTOMATED = {
  en: 'This message was sent automatically, please do not reply to it.',
  ru: 'Это письмо отправлено автоматически, отвечать на него не нужно.',
} as const;

const greeting = (locale: MailLocale, name: string): Block =>
  locale === 'ru' ? p('Здравствуйте, ', b(name), '!') : p('Hi ', b(name), ',');

type TemplateFn = (d: TemplateData, locale: MailLocale) => Content;

const TEMPLATES: Record<MailTemplate, TemplateFn> = {
  verify_email(d, locale) {
    const name = d.required('displayName');
    const link = d.required('link');
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `Confirm your e-mail address for ${PRODUCT_NAME}`,
        blocks: [
          greeting('en', name),
          p(`Thanks for signing up for ${PRODUCT_NAME}. Please confirm that this is your e-mail address.`),
          button('Confirm e-mail address', link),
          p('The link is valid for 24 hours. If you did not create an account, just ignore this message.'),
        ],
        footer: AUTOMATED.en,
      },
      ru: {
        subject: `Подтвердите адрес электронной почты в ${PRODUCT_NAME}`,
        blocks: [
          greeting('ru', name),
          p(`Спасибо за регистрацию в ${PRODUCT_NAME}! Подтвердите, пожалуйста, что это ваш адрес электронной почты.`),
          button('Подтвердить адрес', link),
          p('Ссылка действует 24 часа. Если вы не регистрировались, просто проигнорируйте это письмо.'),
        ],
        footer: AUTOMATED.ru,
      },
    };
    return content[locale];
  },

  account_exists(d, locale) {
    const name = d.required('displayName');
    const loginLink = d.required('loginLink');
    const resetLink = d.required('resetLink');
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `You already have a ${PRODUCT_NAME} account`,
        blocks: [
          greeting('en', name),
          p(
            `Someone just tried to sign up for ${PRODUCT_NAME} with this e-mail address, `,
            'but an account with this address already exists.',
          ),
          p('If it was you, simply log in:'),
          button('Log in', loginLink),
          p('Forgot your password? You can choose a new one:'),
          button('Reset password', resetLink),
          p('If it was not you, ignore this message: nothing has changed in your account.'),
        ],
        footer: AUTOMATED.en,
      },
      ru: {
        subject: `У вас уже есть аккаунт в ${PRODUCT_NAME}`,
        blocks: [
          greeting('ru', name),
          p(
            `Кто-то только что попытался зарегистрироваться в ${PRODUCT_NAME} с этим адресом электронной почты, `,
            'но аккаунт с таким адресом уже существует.',
          ),
          p('Если это были вы, просто войдите в свой аккаунт:'),
          button('Войти', loginLink),
          p('Не помните пароль? Задайте новый:'),
          button('Сбросить пароль', resetLink),
          p('Если это были не вы, проигнорируйте это письмо: с вашим аккаунтом ничего не произошло.'),
        ],
        footer: AUTOMATED.ru,
      },
    };
    return content[locale];
  },

  password_reset(d, locale) {
    const name = d.required('displayName');
    const link = d.required('link');
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `Reset your ${PRODUCT_NAME} password`,
        blocks: [
          greeting('en', name),
          p(`We received a request to reset the password of your ${PRODUCT_NAME} account. To choose a new password, open this link:`),
          button('Choose a new password', link),
          p('The link is valid for 1 hour and works only once.'),
          p('If you did not ask to reset your password, ignore this message: your password stays the same.'),
        ],
        footer: AUTOMATED.en,
      },
      ru: {
        subject: `Сброс пароля в ${PRODUCT_NAME}`,
        blocks: [
          greeting('ru', name),
          p(`Мы получили запрос на сброс пароля от вашего аккаунта в ${PRODUCT_NAME}. Чтобы задать новый пароль, перейдите по ссылке:`),
          button('Задать новый пароль', link),
          p('Ссылка действует в течение часа, воспользоваться ею можно только один раз.'),
          p('Если вы не запрашивали сброс пароля, просто проигнорируйте это письмо: ваш пароль останется прежним.'),
        ],
        footer: AUTOMATED.ru,
      },
    };
    return content[locale];
  },

  password_changed(d, locale) {
    const name = d.required('displayName');
    const changedAt = d.date('changedAt');
    // Optional: lets the mail offer a one-click way back in if the change was not the user's.
    const resetLink = d.optional('resetLink');
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `Your ${PRODUCT_NAME} password was changed`,
        blocks: [
          greeting('en', name),
          p(`The password of your ${PRODUCT_NAME} account was changed on `, b(formatDateTime(changedAt, 'en')), '.'),
          p('If you did this, no action is needed.'),
          p(b('If it was not you, reset your password at once'), ' and check the list of active sessions in your account.'),
          ...(resetLink ? [button('Reset password', resetLink)] : []),
        ],
        footer: AUTOMATED.en,
      },
      ru: {
        subject: `Пароль в ${PRODUCT_NAME} изменён`,
        blocks: [
          greeting('ru', name),
          p(`Пароль от вашего аккаунта в ${PRODUCT_NAME} был изменён `, b(formatDateTime(changedAt, 'ru')), '.'),
          p('Если это сделали вы, ничего делать не нужно.'),
          p(b('Если это были не вы, немедленно сбросьте пароль'), ' и проверьте список активных сеансов в своём аккаунте.'),
          ...(resetLink ? [button('Сбросить пароль', resetLink)] : []),
        ],
        footer: AUTOMATED.ru,
      },
    };
    return content[locale];
  },

  review_created(d, locale) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const rating = d.rating('rating');
    const reviewTitle = d.optional('reviewTitle');
    const reviewBody = d.optional('reviewBody');
    const authorName = d.required('authorName');
    const courseLink = d.optional('courseLink');
    const unsubscribeLink = d.required('unsubscribeLink');
    const quote: Block[] =
      reviewTitle || reviewBody
        ? [{ kind: 'quote', title: reviewTitle, body: reviewBody && truncate(reviewBody, MAX_QUOTE_CHARS) }]
        : [];
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `New review of your course “${courseTitle}” (${rating}/5)`,
        blocks: [
          greeting('en', name),
          p('Your course ', b(`“${courseTitle}”`), ' has a new review from ', b(authorName), '.'),
          { kind: 'rating', label: 'Rating', rating },
          ...quote,
          ...(courseLink ? [button('Open the course', courseLink)] : []),
        ],
        footer: `You get this message because you teach this course on ${PRODUCT_NAME}.`,
        unsubscribe: { label: 'Turn off review notifications', href: unsubscribeLink },
      },
      ru: {
        subject: `Новый отзыв о вашем курсе «${courseTitle}» (${rating}/5)`,
        blocks: [
          greeting('ru', name),
          p('О вашем курсе ', b(`«${courseTitle}»`), ' оставили новый отзыв. Автор: ', b(authorName), '.'),
          { kind: 'rating', label: 'Оценка', rating },
          ...quote,
          ...(courseLink ? [button('Открыть курс', courseLink)] : []),
        ],
        footer: `Вы получили это письмо, потому что ведёте этот курс в ${PRODUCT_NAME}.`,
        unsubscribe: { label: 'Отключить уведомления об отзывах', href: unsubscribeLink },
      },
    };
    return content[locale];
  },

  review_hidden(d, locale) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const reviewTitle = d.optional('reviewTitle');
    const reason = d.optional('reason');
    const unsubscribeLink = d.optional('unsubscribeLink');
    const quote: Block[] = reviewTitle ? [{ kind: 'quote', title: reviewTitle }] : [];
    const content: Record<MailLocale, Content> = {
      en: {
        subject: `Your review of “${courseTitle}” was hidden`,
        blocks: [
          greeting('en', name),
          p('A moderator has hidden your review of the course ', b(`“${courseTitle}”`), '. Other users no longer see it.'),
          ...quote,
          ...(reason ? [p('Reason: ', b(reason))] : []),
        ],
        footer: AUTOMATED.en,
        ...(unsubscribeLink && { unsubscribe: { label: 'Turn off review notifications', href: unsubscribeLink } }),
      },
      ru: {
        subject: `Ваш отзыв о курсе «${courseTitle}» скрыт`,
        blocks: [
          greeting('ru', name),
          p('Модератор скрыл ваш отзыв о курсе ', b(`«${courseTitle}»`), '. Другие пользователи его больше не видят.'),
          ...quote,
          ...(reason ? [p('Причина: ', b(reason))] : []),
        ],
        footer: AUTOMATED.ru,
        ...(unsubscribeLink && { unsubscribe: { label: 'Отключить уведомления об отзывах', href: unsubscribeLink } }),
      },
    };
    return content[locale];
  },
};

// ---------------------------------------------------------------------------------------------
// Rendering

const FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const COLOR_TEXT = '#1f2933';
const COLOR_MUTED = '#616e7c';
const COLOR_ACCENT = '#2563eb';

function inlineText(parts: Inline[]): string {
  return parts.map((part) => (typeof part === 'string' ? part : part.strong)).join('');
}

function inlineHtml(parts: Inline[]): string {
  return parts
    .map((part) => (typeof part === 'string' ? escapeHtml(part) : `<strong>${escapeHtml(part.strong)}</strong>`))
    .join('');
}

function blockText(block: Block): string {
  switch (block.kind) {
    case 'p':
      return inlineText(block.parts);
    case 'button':
      return `${block.label}:\n${block.href}`;
    case 'quote':
      // Quoted the way mail clients quote, so a reader sees where the user's words start and end.
      return [block.title, block.body]
        .filter((line): line is string => Boolean(line))
        .join('\n\n')
        .split('\n')
        .map((line) => (line ? `> ${line}` : '>'))
        .join('\n');
    case 'rating':
      return `${block.label}: ${block.rating}/5 ${stars(block.rating)}`;
  }
}

function linkHtml(label: string, href: string, style: string): string {
  if (!isSafeLink(href)) {
    // Refused as a link; the text still tells the reader what the address was.
    return `${escapeHtml(label)}: ${escapeHtml(href)}`;
  }
  return `<a href="${escapeHtml(href)}" style="${style}">${escapeHtml(label)}</a>`;
}

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'p':
      return `<p style="margin:0 0 16px;">${inlineHtml(block.parts)}</p>`;
    case 'button': {
      const anchor = linkHtml(
        block.label,
        block.href,
        `display:inline-block;padding:12px 22px;background:${COLOR_ACCENT};color:#ffffff;` +
          'text-decoration:none;border-radius:6px;font-weight:bold;',
      );
      // The plain address under the button helps clients that strip styles or block links.
      const plain = isSafeLink(block.href)
        ? `<p style="margin:0 0 20px;font-size:12px;color:${COLOR_MUTED};word-break:break-all;">${escapeHtml(block.href)}</p>`
        : '';
      return `<p style="margin:20px 0 8px;">${anchor}</p>${plain}`;
    }
    case 'quote': {
      const title = block.title ? `<p style="margin:0 0 8px;font-weight:bold;">${escapeHtml(block.title)}</p>` : '';
      const body = block.body
        ? `<p style="margin:0;white-space:pre-line;">${escapeHtml(block.body)}</p>`
        : '';
      return (
        `<blockquote style="margin:0 0 16px;padding:12px 16px;border-left:4px solid #cbd2d9;` +
        `background:#f5f7fa;color:${COLOR_TEXT};">${title}${body}</blockquote>`
      );
    }
    case 'rating':
      return (
        `<p style="margin:0 0 16px;">${escapeHtml(block.label)}: <strong>${block.rating}/5</strong> ` +
        `<span style="color:#f59e0b;font-size:18px;letter-spacing:2px;">${stars(block.rating)}</span></p>`
      );
  }
}

function renderText(content: Content): string {
  const body = content.blocks.map(blockText).join('\n\n');
  // "-- " is the standard signature delimiter, so clients can fold the footer away.
  const signature = ['-- ', PRODUCT_NAME, content.footer];
  if (content.unsubscribe) signature.push(`${content.unsubscribe.label}: ${content.unsubscribe.href}`);
  return `${body}\n\n${signature.join('\n')}\n`;
}

function renderHtml(content: Content, locale: MailLocale): string {
  const unsubscribe = content.unsubscribe
    ? `<br>${linkHtml(content.unsubscribe.label, content.unsubscribe.href, `color:${COLOR_MUTED};text-decoration:underline;`)}`
    : '';
  return [
    '<!DOCTYPE html>',
    `<html lang="${locale}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(content.subject)}</title></head>`,
    `<body style="margin:0;padding:0;background:#f0f2f5;">`,
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f0f2f5;">',
    '<tr><td align="center" style="padding:24px 12px;">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" ' +
      `style="max-width:560px;background:#ffffff;border-radius:8px;font-family:${FONT};font-size:16px;line-height:1.5;color:${COLOR_TEXT};">`,
    `<tr><td style="padding:20px 32px;border-bottom:1px solid #e4e7eb;font-size:18px;font-weight:bold;color:${COLOR_ACCENT};">${escapeHtml(PRODUCT_NAME)}</td></tr>`,
    `<tr><td style="padding:24px 32px 8px;">${content.blocks.map(blockHtml).join('')}</td></tr>`,
    `<tr><td style="padding:16px 32px 24px;border-top:1px solid #e4e7eb;font-size:12px;color:${COLOR_MUTED};">` +
      `${escapeHtml(content.footer)}${unsubscribe}</td></tr>`,
    '</table>',
    '</td></tr>',
    '</table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * Renders a mail in the given locale. Throws when the data misses a field the template needs,
 * so a bad notification fails loudly in the outbox instead of reaching a user half filled.
 */
export function renderMail(template: MailTemplate, locale: MailLocale, data: Record<string, unknown>): RenderedMail {
  const fn = isMailTemplate(template) ? TEMPLATES[template] : undefined;
  if (!fn) throw new Error(`unknown mail template "${String(template)}"`);
  // Locale comes from the user row; an unexpected value still gets a readable mail.
  const lang: MailLocale = locale === 'ru' ? 'ru' : 'en';
  const content = fn(new TemplateData(template, data ?? {}), lang);
  // A subject is one header line; user-supplied titles must not break it.
  const subject = content.subject.replace(/\s+/g, ' ').trim();
  const normalized = { ...content, subject };
  return { subject, text: renderText(normalized), html: renderHtml(normalized, lang) };
}
