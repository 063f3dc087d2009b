/**
 * Links from mails into the web front end (`appUrl`, APP_URL): appUrl + a path template (`links.*`)
 * whose `{name}` parts are filled with URL-encoded values. Without appUrl there is no front end to link
 * to, and the caller keeps the link it had before this setting existed.
 */
export interface AppLinkTemplates {
  coursePage: string;
  certificatePage: string;
  loginPage: string;
}

export class AppLinks {
  private readonly base: string;

  constructor(
    appUrl: string,
    private readonly templates: AppLinkTemplates,
  ) {
    this.base = appUrl.replace(/\/+$/, '');
  }

  /** The course page; undefined without appUrl or when the template names a value the course lacks. */
  coursePage(course: { slug?: unknown; id?: unknown }): string | undefined {
    return this.build(this.templates.coursePage, course);
  }

  /** A certificate's page; undefined without appUrl. */
  certificatePage(certificate: { verificationId?: unknown }): string | undefined {
    return this.build(this.templates.certificatePage, certificate);
  }

  /** The login page; undefined without appUrl. */
  loginPage(): string | undefined {
    return this.build(this.templates.loginPage, {});
  }

  private build(template: string, values: Record<string, unknown>): string | undefined {
    if (this.base === '') return undefined;
    let complete = true;
    const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      const value = values[name];
      if (typeof value !== 'string' || value === '') {
        complete = false;
        return '';
      }
      // Encoded, so a value can never add a path segment, a query or a fragment of its own.
      return encodeURIComponent(value);
    });
    return complete ? `${this.base}${path}` : undefined;
  }
}
