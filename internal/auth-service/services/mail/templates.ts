// Mail templates as plain functions: every template describes its content once as a few
// blocks, each wording given in English and Russian side by side, and one renderer turns those
// blocks into the text and the HTML part, so the two languages and the two parts cannot drift
// apart and every value passes through one escaping point. Lifetimes of links are not written
// here: the mail data carries them (`validMinutes`), from the settings that made the token.

export const MAIL_TEMPLATES = [
  'verify_email',
  'account_exists',
  'password_reset',
  'password_changed',
  'review_created',
  'review_hidden',
  // Learning (course-service, through its outbox)
  'enrolment_created',
  'course_completed',
  'course_announcement',
  // Two-factor sign-in and new-device mail (issue 18, mfa).
  'mfa_enabled',
  'mfa_disabled',
  'new_device_login',
  // E-mail change (issue 18)
  'email_change_confirm_new',
  'email_change_approve_old',
  'email_change_address_in_use',
  'email_changed',
  // Account deletion (GDPR, deletion_service.ts)
  'account_deletion_scheduled',
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

  /** An optional whole number of minutes, at least 1. */
  minutes(name: string): number | undefined {
    const value = this.data[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(`field "${name}" must be a whole number of minutes`);
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
// Templates: each reads its data, then describes its mail once, with every wording given in both
// locales side by side (`t(en, ru)`), so the structure of a mail is written once, not per language.

const AUTOMATED = {
  en: 'This message was sent automatically, please do not reply to it.',
  ru: 'Это письмо отправлено автоматически, отвечать на него не нужно.',
} as const;

const REVIEW_UNSUBSCRIBE = { en: 'Turn off review notifications', ru: 'Отключить уведомления об отзывах' } as const;
const ANNOUNCEMENT_UNSUBSCRIBE = { en: 'Turn off course announcements', ru: 'Отключить объявления курсов' } as const;
/** An announcement's body in the mail: long enough for a real message, bounded like a review quote. */
const MAX_ANNOUNCEMENT_CHARS = 5000;

/** Picks the wording of the locale; the English and the Russian text stand next to each other. */
type Translate = <T>(en: T, ru: T) => T;

/** The one builder: greeting first, the automated-mail footer unless the template names its own. */
function letter(
  locale: MailLocale,
  name: string,
  mail: { subject: string; blocks: Block[]; footer?: string; unsubscribe?: Content['unsubscribe'] },
): Content {
  const greeting = locale === 'ru' ? p('Здравствуйте, ', b(name), '!') : p('Hi ', b(name), ',');
  return {
    subject: mail.subject,
    blocks: [greeting, ...mail.blocks],
    footer: mail.footer ?? AUTOMATED[locale],
    ...(mail.unsubscribe && { unsubscribe: mail.unsubscribe }),
  };
}

// Word forms by Intl.PluralRules category. Russian takes the accusative ("действует 1 минуту, 2 минуты,
// 5 минут"); a lone unit reads "в течение часа", as the mails said before the lifetimes were settings.
const UNITS = {
  en: {
    minute: { one: 'minute', other: 'minutes' },
    hour: { one: 'hour', other: 'hours' },
    day: { one: 'day', other: 'days' },
  },
  ru: {
    minute: { lone: 'в течение минуты', one: 'минуту', few: 'минуты', many: 'минут' },
    hour: { lone: 'в течение часа', one: 'час', few: 'часа', many: 'часов' },
    day: { lone: 'в течение суток', one: 'день', few: 'дня', many: 'дней' },
  },
} as const;

/** "24 hours", "30 minutes", "2 days"; ru "24 часа", "30 минут", "в течение часа". */
export function formatLifetime(minutes: number, locale: MailLocale): string {
  // Days only from two on: one day reads "24 hours", as the verification mail always said.
  const [amount, unit] =
    minutes % (24 * 60) === 0 && minutes >= 48 * 60
      ? [minutes / (24 * 60), 'day' as const]
      : minutes % 60 === 0
        ? [minutes / 60, 'hour' as const]
        : [minutes, 'minute' as const];
  if (locale === 'ru') {
    const forms = UNITS.ru[unit];
    if (amount === 1) return forms.lone;
    const category = new Intl.PluralRules('ru').select(amount);
    return `${amount} ${category === 'one' ? forms.one : category === 'few' ? forms.few : forms.many}`;
  }
  const forms = UNITS.en[unit];
  return `${amount} ${new Intl.PluralRules('en').select(amount) === 'one' ? forms.one : forms.other}`;
}

/**
 * Lifetimes of links in mails queued before the lifetime travelled in the mail data (`validMinutes`,
 * set from auth.verifyTokenTtlHours / auth.resetTokenTtlMinutes by the service that made the token):
 * such a mail says what the version that queued it would have said.
 */
const LEGACY_VALID_MINUTES = { verify_email: 24 * 60, password_reset: 60 } as const;

type TemplateFn = (d: TemplateData, locale: MailLocale, t: Translate) => Content;

const TEMPLATES: Record<MailTemplate, TemplateFn> = {
  verify_email(d, locale, t) {
    const name = d.required('displayName');
    const link = d.required('link');
    const valid = formatLifetime(d.minutes('validMinutes') ?? LEGACY_VALID_MINUTES.verify_email, locale);
    return letter(locale, name, {
      subject: t(`Confirm your e-mail address for ${PRODUCT_NAME}`, `Подтвердите адрес электронной почты в ${PRODUCT_NAME}`),
      blocks: [
        p(t(
          `Thanks for signing up for ${PRODUCT_NAME}. Please confirm that this is your e-mail address.`,
          `Спасибо за регистрацию в ${PRODUCT_NAME}! Подтвердите, пожалуйста, что это ваш адрес электронной почты.`,
        )),
        button(t('Confirm e-mail address', 'Подтвердить адрес'), link),
        p(t(
          `The link is valid for ${valid}. If you did not create an account, just ignore this message.`,
          `Ссылка действует ${valid}. Если вы не регистрировались, просто проигнорируйте это письмо.`,
        )),
      ],
    });
  },

  account_exists(d, locale, t) {
    const name = d.required('displayName');
    const loginLink = d.required('loginLink');
    const resetLink = d.required('resetLink');
    return letter(locale, name, {
      subject: t(`You already have a ${PRODUCT_NAME} account`, `У вас уже есть аккаунт в ${PRODUCT_NAME}`),
      blocks: [
        p(...t(
          [`Someone just tried to sign up for ${PRODUCT_NAME} with this e-mail address, `, 'but an account with this address already exists.'],
          [`Кто-то только что попытался зарегистрироваться в ${PRODUCT_NAME} с этим адресом электронной почты, `, 'но аккаунт с таким адресом уже существует.'],
        )),
        p(t('If it was you, simply log in:', 'Если это были вы, просто войдите в свой аккаунт:')),
        button(t('Log in', 'Войти'), loginLink),
        p(t('Forgot your password? You can choose a new one:', 'Не помните пароль? Задайте новый:')),
        button(t('Reset password', 'Сбросить пароль'), resetLink),
        p(t(
          'If it was not you, ignore this message: nothing has changed in your account.',
          'Если это были не вы, проигнорируйте это письмо: с вашим аккаунтом ничего не произошло.',
        )),
      ],
    });
  },

  password_reset(d, locale, t) {
    const name = d.required('displayName');
    const link = d.required('link');
    const valid = formatLifetime(d.minutes('validMinutes') ?? LEGACY_VALID_MINUTES.password_reset, locale);
    return letter(locale, name, {
      subject: t(`Reset your ${PRODUCT_NAME} password`, `Сброс пароля в ${PRODUCT_NAME}`),
      blocks: [
        p(t(
          `We received a request to reset the password of your ${PRODUCT_NAME} account. To choose a new password, open this link:`,
          `Мы получили запрос на сброс пароля от вашего аккаунта в ${PRODUCT_NAME}. Чтобы задать новый пароль, перейдите по ссылке:`,
        )),
        button(t('Choose a new password', 'Задать новый пароль'), link),
        p(t(
          `The link is valid for ${valid} and works only once.`,
          `Ссылка действует ${valid}, воспользоваться ею можно только один раз.`,
        )),
        p(t(
          'If you did not ask to reset your password, ignore this message: your password stays the same.',
          'Если вы не запрашивали сброс пароля, просто проигнорируйте это письмо: ваш пароль останется прежним.',
        )),
      ],
    });
  },

  password_changed(d, locale, t) {
    const name = d.required('displayName');
    const changedAt = b(formatDateTime(d.date('changedAt'), locale));
    // Optional: lets the mail offer a one-click way back in if the change was not the user's.
    const resetLink = d.optional('resetLink');
    return letter(locale, name, {
      subject: t(`Your ${PRODUCT_NAME} password was changed`, `Пароль в ${PRODUCT_NAME} изменён`),
      blocks: [
        p(t(`The password of your ${PRODUCT_NAME} account was changed on `, `Пароль от вашего аккаунта в ${PRODUCT_NAME} был изменён `), changedAt, '.'),
        p(t('If you did this, no action is needed.', 'Если это сделали вы, ничего делать не нужно.')),
        p(...t<Inline[]>(
          [b('If it was not you, reset your password at once'), ' and check the list of active sessions in your account.'],
          [b('Если это были не вы, немедленно сбросьте пароль'), ' и проверьте список активных сеансов в своём аккаунте.'],
        )),
        ...(resetLink ? [button(t('Reset password', 'Сбросить пароль'), resetLink)] : []),
      ],
    });
  },

  review_created(d, locale, t) {
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
    return letter(locale, name, {
      subject: t(`New review of your course “${courseTitle}” (${rating}/5)`, `Новый отзыв о вашем курсе «${courseTitle}» (${rating}/5)`),
      blocks: [
        p(...t<Inline[]>(
          ['Your course ', b(`“${courseTitle}”`), ' has a new review from ', b(authorName), '.'],
          ['О вашем курсе ', b(`«${courseTitle}»`), ' оставили новый отзыв. Автор: ', b(authorName), '.'],
        )),
        { kind: 'rating', label: t('Rating', 'Оценка'), rating },
        ...quote,
        ...(courseLink ? [button(t('Open the course', 'Открыть курс'), courseLink)] : []),
      ],
      footer: t(
        `You get this message because you teach this course on ${PRODUCT_NAME}.`,
        `Вы получили это письмо, потому что ведёте этот курс в ${PRODUCT_NAME}.`,
      ),
      unsubscribe: { label: REVIEW_UNSUBSCRIBE[locale], href: unsubscribeLink },
    });
  },

  review_hidden(d, locale, t) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const reviewTitle = d.optional('reviewTitle');
    const reason = d.optional('reason');
    const unsubscribeLink = d.optional('unsubscribeLink');
    return letter(locale, name, {
      subject: t(`Your review of “${courseTitle}” was hidden`, `Ваш отзыв о курсе «${courseTitle}» скрыт`),
      blocks: [
        p(...t<Inline[]>(
          ['A moderator has hidden your review of the course ', b(`“${courseTitle}”`), '. Other users no longer see it.'],
          ['Модератор скрыл ваш отзыв о курсе ', b(`«${courseTitle}»`), '. Другие пользователи его больше не видят.'],
        )),
        ...(reviewTitle ? [{ kind: 'quote' as const, title: reviewTitle }] : []),
        ...(reason ? [p(t('Reason: ', 'Причина: '), b(reason))] : []),
      ],
      ...(unsubscribeLink && { unsubscribe: { label: REVIEW_UNSUBSCRIBE[locale], href: unsubscribeLink } }),
    });
  },

  // Learning mails. Enrolment and completion are answers to the learner's own action (like a receipt),
  // so they have no unsubscribe link; announcements are the instructor's and can be turned off.
  enrolment_created(d, locale, t) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const courseLink = d.optional('courseLink');
    return letter(locale, name, {
      subject: t(`You are enrolled in “${courseTitle}”`, `Вы записаны на курс «${courseTitle}»`),
      blocks: [
        p(...t<Inline[]>(
          ['Welcome to ', b(`“${courseTitle}”`), '! Your place is saved, and your progress is kept whenever you come back.'],
          ['Добро пожаловать на курс ', b(`«${courseTitle}»`), '! Место за вами, а прогресс сохраняется, когда бы вы ни вернулись.'],
        )),
        ...(courseLink ? [button(t('Start learning', 'Начать обучение'), courseLink)] : []),
      ],
      footer: t(
        `You get this message because you enrolled in this course on ${PRODUCT_NAME}.`,
        `Вы получили это письмо, потому что записались на этот курс в ${PRODUCT_NAME}.`,
      ),
    });
  },

  course_completed(d, locale, t) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const certificateLink = d.required('certificateLink');
    return letter(locale, name, {
      subject: t(`Congratulations: you completed “${courseTitle}”`, `Поздравляем: вы прошли курс «${courseTitle}»`),
      blocks: [
        p(...t<Inline[]>(
          ['You have completed every lesson of ', b(`“${courseTitle}”`), '. Your certificate is ready; anyone can check it at its link.'],
          ['Вы прошли все уроки курса ', b(`«${courseTitle}»`), '. Сертификат готов; его подлинность может проверить любой по ссылке.'],
        )),
        button(t('View the certificate', 'Открыть сертификат'), certificateLink),
      ],
      footer: t(
        `You get this message because you completed a course on ${PRODUCT_NAME}.`,
        `Вы получили это письмо, потому что прошли курс в ${PRODUCT_NAME}.`,
      ),
    });
  },

  course_announcement(d, locale, t) {
    const name = d.required('displayName');
    const courseTitle = d.required('courseTitle');
    const instructorName = d.required('instructorName');
    const subject = d.required('subject');
    const body = d.required('body');
    const courseLink = d.optional('courseLink');
    const unsubscribeLink = d.required('unsubscribeLink');
    return letter(locale, name, {
      subject: t(`“${courseTitle}”: ${subject}`, `«${courseTitle}»: ${subject}`),
      blocks: [
        p(...t<Inline[]>(
          [b(instructorName), ' posted an announcement to the learners of ', b(`“${courseTitle}”`), ':'],
          [b(instructorName), ' опубликовал(а) объявление для слушателей курса ', b(`«${courseTitle}»`), ':'],
        )),
        { kind: 'quote', title: subject, body: truncate(body, MAX_ANNOUNCEMENT_CHARS) },
        ...(courseLink ? [button(t('Open the course', 'Открыть курс'), courseLink)] : []),
      ],
      footer: t(
        `You get this message because you are enrolled in this course on ${PRODUCT_NAME}.`,
        `Вы получили это письмо, потому что записаны на этот курс в ${PRODUCT_NAME}.`,
      ),
      unsubscribe: { label: ANNOUNCEMENT_UNSUBSCRIBE[locale], href: unsubscribeLink },
    });
  },

  // -- Two-factor sign-in and new-device mail (issue 18, mfa) --

  mfa_enabled(d, locale, t) {
    const name = d.required('displayName');
    const changedAt = b(formatDateTime(d.date('changedAt'), locale));
    const resetLink = d.optional('resetLink');
    return letter(locale, name, {
      subject: t(`Two-factor sign-in is on for your ${PRODUCT_NAME} account`, `Двухфакторный вход в ${PRODUCT_NAME} включён`),
      blocks: [
        p(t('Two-factor sign-in was turned on for your account on ', 'Для вашего аккаунта был включён двухфакторный вход '), changedAt, '.'),
        p(t(
          'From now on, signing in needs a code from your authenticator app. Your other sessions have been ended. Keep your recovery codes in a safe place.',
          'Теперь для входа нужен код из приложения-аутентификатора. Остальные сеансы завершены. Храните коды восстановления в надёжном месте.',
        )),
        p(...t<Inline[]>(
          [b('If it was not you, reset your password at once'), ' and contact support.'],
          [b('Если это были не вы, немедленно сбросьте пароль'), ' и обратитесь в поддержку.'],
        )),
        ...(resetLink ? [button(t('Reset password', 'Сбросить пароль'), resetLink)] : []),
      ],
    });
  },

  mfa_disabled(d, locale, t) {
    const name = d.required('displayName');
    const changedAt = b(formatDateTime(d.date('changedAt'), locale));
    const resetLink = d.optional('resetLink');
    return letter(locale, name, {
      subject: t(`Two-factor sign-in is off for your ${PRODUCT_NAME} account`, `Двухфакторный вход в ${PRODUCT_NAME} отключён`),
      blocks: [
        p(t('Two-factor sign-in was turned off for your account on ', 'Для вашего аккаунта был отключён двухфакторный вход '), changedAt, '.'),
        p(t(
          'Signing in now needs only your password. Your other sessions have been ended.',
          'Теперь для входа достаточно пароля. Остальные сеансы завершены.',
        )),
        p(...t<Inline[]>(
          [b('If it was not you, reset your password at once'), ' and turn two-factor sign-in back on.'],
          [b('Если это были не вы, немедленно сбросьте пароль'), ' и снова включите двухфакторный вход.'],
        )),
        ...(resetLink ? [button(t('Reset password', 'Сбросить пароль'), resetLink)] : []),
      ],
    });
  },

  new_device_login(d, locale, t) {
    const name = d.required('displayName');
    const signedInAt = b(formatDateTime(d.date('signedInAt'), locale));
    const device = d.required('device');
    const ip = d.required('ip');
    const notMeLink = d.required('notMeLink');
    const valid = formatLifetime(d.minutes('validMinutes') ?? 72 * 60, locale);
    return letter(locale, name, {
      subject: t(`New sign-in to your ${PRODUCT_NAME} account`, `Новый вход в аккаунт ${PRODUCT_NAME}`),
      blocks: [
        p(t('Your account was signed in to from a new device on ', 'В ваш аккаунт выполнен вход с нового устройства '), signedInAt, '.'),
        p(t('Device: ', 'Устройство: '), b(device), t(', IP address: ', ', IP-адрес: '), b(ip), '.'),
        p(t('If it was you, no action is needed.', 'Если это были вы, ничего делать не нужно.')),
        p(t(
          `If it was not you, press the button: every session of your account ends and we mail you a link to choose a new password. The button works for ${valid}.`,
          `Если это были не вы, нажмите кнопку: все сеансы вашего аккаунта завершатся, и мы пришлём ссылку для смены пароля. Кнопка действует ${valid}.`,
        )),
        button(t('This was not me', 'Это был не я'), notMeLink),
      ],
    });
  },

  // -------------------------------------------------------------------------------------------
  // E-mail change (issue 18): the new address confirms, the old one approves or cancels, and the old
  // one is told when the change is done. A taken address gets a mail of its own and nothing else.

  email_change_confirm_new(d, locale, t) {
    const name = d.required('displayName');
    const link = d.required('link');
    const valid = formatLifetime(d.minutes('validMinutes') ?? 24 * 60, locale);
    return letter(locale, name, {
      subject: t(`Confirm your new e-mail address for ${PRODUCT_NAME}`, `Подтвердите новый адрес электронной почты в ${PRODUCT_NAME}`),
      blocks: [
        p(t(
          `You asked to use this address for your ${PRODUCT_NAME} account. Confirm that it is yours:`,
          `Вы попросили использовать этот адрес для своего аккаунта в ${PRODUCT_NAME}. Подтвердите, что он ваш:`,
        )),
        button(t('Confirm the new address', 'Подтвердить новый адрес'), link),
        p(t(
          `The link is valid for ${valid} and works once. The change also needs the approval sent to your current address.`,
          `Ссылка действует ${valid}, воспользоваться ею можно один раз. Для смены нужно ещё подтверждение, отправленное на ваш текущий адрес.`,
        )),
        p(t(
          'If you did not ask for this, ignore this message: nothing changes without it.',
          'Если вы этого не запрашивали, проигнорируйте письмо: без него ничего не изменится.',
        )),
      ],
    });
  },

  email_change_approve_old(d, locale, t) {
    const name = d.required('displayName');
    const newEmail = d.required('newEmail');
    const link = d.required('link');
    const cancelLink = d.required('cancelLink');
    const valid = formatLifetime(d.minutes('validMinutes') ?? 24 * 60, locale);
    return letter(locale, name, {
      subject: t(`Approve the new e-mail address of your ${PRODUCT_NAME} account`, `Подтвердите смену адреса электронной почты в ${PRODUCT_NAME}`),
      blocks: [
        p(...t<Inline[]>(
          ['Someone signed in to your account asked to change its e-mail address to ', b(newEmail), '. If it was you, approve it:'],
          ['Из вашего аккаунта поступил запрос сменить адрес электронной почты на ', b(newEmail), '. Если это вы, подтвердите:'],
        )),
        button(t('Approve the change', 'Подтвердить смену'), link),
        p(...t<Inline[]>(
          [b('If it was not you'), ', cancel the change: every device will be signed out, and you should change your password.'],
          [b('Если это были не вы'), ', отмените смену: все устройства будут отключены от аккаунта, а пароль стоит сменить.'],
        )),
        button(t('This was not me', 'Это был не я'), cancelLink),
        p(t(`The links are valid for ${valid}.`, `Ссылки действуют ${valid}.`)),
      ],
    });
  },

  email_change_address_in_use(d, locale, t) {
    const name = d.required('displayName');
    const loginLink = d.required('loginLink');
    return letter(locale, name, {
      subject: t(`Someone tried to use your e-mail address on ${PRODUCT_NAME}`, `Кто-то пытался использовать ваш адрес в ${PRODUCT_NAME}`),
      blocks: [
        p(t(
          `Someone asked to move another ${PRODUCT_NAME} account to this e-mail address. It already belongs to your account, so nothing was changed.`,
          `Кто-то попросил перенести другой аккаунт ${PRODUCT_NAME} на этот адрес. Он уже принадлежит вашему аккаунту, поэтому ничего не изменилось.`,
        )),
        p(t('If it was you, sign in to this account instead:', 'Если это были вы, войдите в этот аккаунт:')),
        button(t('Log in', 'Войти'), loginLink),
        p(t('Otherwise ignore this message.', 'Иначе просто проигнорируйте это письмо.')),
      ],
    });
  },

  email_changed(d, locale, t) {
    const name = d.required('displayName');
    const newEmail = d.required('newEmail');
    const changedAt = b(formatDateTime(d.date('changedAt'), locale));
    const loginLink = d.required('loginLink');
    return letter(locale, name, {
      subject: t(`The e-mail address of your ${PRODUCT_NAME} account was changed`, `Адрес электронной почты в ${PRODUCT_NAME} изменён`),
      blocks: [
        p(...t<Inline[]>(
          ['The e-mail address of your account was changed to ', b(newEmail), ' on ', changedAt, '. This address gets no more mail about the account.'],
          ['Адрес электронной почты вашего аккаунта изменён на ', b(newEmail), ' ', changedAt, '. На этот адрес письма об аккаунте больше не придут.'],
        )),
        p(t('Other devices were signed out.', 'Другие устройства отключены от аккаунта.')),
        p(...t<Inline[]>(
          [b('If it was not you'), ', contact support at once and sign in to check your account:'],
          [b('Если это были не вы'), ', немедленно обратитесь в поддержку и проверьте аккаунт:'],
        )),
        button(t('Log in', 'Войти'), loginLink),
      ],
    });
  },

  // ---- Account deletion (GDPR) ----
  account_deletion_scheduled(d, locale, t) {
    const name = d.required('displayName');
    const link = d.required('link');
    const purgeAt = b(formatDateTime(d.date('purgeAt'), locale));
    return letter(locale, name, {
      subject: t(`Your ${PRODUCT_NAME} account will be deleted`, `Ваш аккаунт в ${PRODUCT_NAME} будет удалён`),
      blocks: [
        p(t(`We received a request to delete your ${PRODUCT_NAME} account. It has been signed out everywhere and will be deleted for good on `, `Мы получили запрос на удаление вашего аккаунта в ${PRODUCT_NAME}. Все его сеансы завершены, а окончательно он будет удалён `), purgeAt, '.'),
        p(t('Until then you can change your mind: this link cancels the deletion (it works once).', 'До этого момента удаление можно отменить по этой ссылке (она действует один раз).')),
        button(t('Keep my account', 'Сохранить аккаунт'), link),
        p(...t<Inline[]>(
          [b('If you did not ask for this, cancel the deletion'), ' and then change your password.'],
          [b('Если вы этого не запрашивали, отмените удаление'), ' и затем смените пароль.'],
        )),
      ],
    });
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
  const t: Translate = (en, ru) => (lang === 'ru' ? ru : en);
  const content = fn(new TemplateData(template, data ?? {}), lang, t);
  // A subject is one header line; user-supplied titles must not break it.
  const subject = content.subject.replace(/\s+/g, ' ').trim();
  const normalized = { ...content, subject };
  return { subject, text: renderText(normalized), html: renderHtml(normalized, lang) };
}
