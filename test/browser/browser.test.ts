/**
 * What a person sees in a real browser: Debian's Chromium driven by playwright-core against both
 * services listening on 127.0.0.1.
 *
 * - Swagger UI (`/docs`) of each service: authorize with a token from a real login, run one call with
 *   "Try it out" and read its live answer.
 * - The two pages that mail links open: the e-mail confirmation page and the new-password page, from
 *   the links in mails that really went out over SMTP, with the result checked through the API.
 *
 * Chromium comes from `.ci/install-chromium.sh` (apt). Without it these tests are skipped loudly, or
 * fail with REQUIRE_SERVICES=1 (CI).
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REQUIRE_SERVICES, hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { publishOverHttp } from '../course-service/factories.js';
import type { CapturedMail } from '../helpers/smtp.js';
import { authClient, bearer, type AuthClient } from '../../clients/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium phones home at start, and this machine's closed network refuses it.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  const message = `Chromium is not installed at ${CHROMIUM} (install it with .ci/install-chromium.sh)`;
  if (REQUIRE_SERVICES) throw new Error(`${message} and REQUIRE_SERVICES=1`);
  console.error(`\n!!! SKIPPING the browser tests: ${message}\n`);
}

/** A free TCP port on 127.0.0.1 (listen on 0, close, reuse): the apps must know their URL before they listen. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The link to one of auth-service's pages in a mail's text part. */
function linkFrom(mail: CapturedMail, page: 'verify-email' | 'reset-password'): string {
  const m = new RegExp(`https?://[^\\s<>"]+/api/v1/auth/pages/${page}\\?token=[A-Za-z0-9_-]+`).exec(mail.text);
  if (!m) throw new Error(`No ${page} link in mail "${mail.subject}":\n${mail.text}`);
  return m[0];
}

// Each test well under 10 s alone; the margin is for a loaded CI machine running other files at once.

/** The token pair of a login answer: these accounts have no two-factor sign-in, so never the MFA challenge. */
function pairOf<T extends object>(data: T | undefined): Exclude<T, { mfaRequired: true }> {
  if (!data || 'mfaRequired' in data) throw new Error(`expected a token pair, got ${JSON.stringify(data)}`);
  return data as Exclude<T, { mfaRequired: true }>;
}

describe.skipIf(!hasChromium || !hasPostgres)('in a real browser (Chromium)', { timeout: 60_000 }, () => {
  let auth: AuthHarness;
  let course: CourseHarness;
  let authUrl: string;
  let courseUrl: string;
  let api: AuthClient;
  let browser: Browser;
  let context: BrowserContext;
  /** Console errors and uncaught exceptions of every page, CSP violations among them. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // Each app's `publicUrl` is the URL it really listens on: it is the `servers` entry Swagger UI's
    // "Try it out" calls, and the base of the links in mails.
    const [authPort, coursePort] = await Promise.all([freePort(), freePort()]);
    authUrl = `http://127.0.0.1:${authPort}`;
    courseUrl = `http://127.0.0.1:${coursePort}`;
    const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    auth = await startAuth({ publicUrl: authUrl, auth: { requireEmailVerification: true, verificationResendIntervalSec: 0 } });
    await auth.app.listen({ port: authPort, host: '127.0.0.1' });
    course = await startCourse({
      jwksUrl: `${authUrl}/.well-known/jwks.json`,
      overrides: { publicUrl: courseUrl, auth: { url: authUrl, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret } },
    });
    await course.app.listen({ port: coursePort, host: '127.0.0.1' });
    api = authClient({ baseUrl: authUrl });
    browser = await launching;
    // A fresh profile (Playwright's own temporary user-data dir) per run.
    context = await browser.newContext();
    context.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await course?.close();
    await auth?.close();
  });

  function watch(page: Page): void {
    // The path only: the pages' URLs carry one-time tokens.
    const where = () => new URL(page.url()).pathname;
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`${where()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => pageErrors.push(`${where()}: uncaught ${err.message}`));
  }

  async function newPage(): Promise<Page> {
    pageErrors.length = 0;
    const page = await context.newPage();
    watch(page);
    return page;
  }

  /** Swagger UI: "Authorize" with a bearer token, then close the dialog. */
  async function authorize(page: Page, token: string): Promise<void> {
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.locator('input[aria-label="auth-bearer-value"]').fill(token);
    await dialog.locator('.auth-btn-wrapper button.authorize').click();
    // Authorized: the dialog now says so and offers "Logout" (Remove authorization) for the scheme.
    await dialog.locator('h6').filter({ hasText: 'Authorized' }).waitFor();
    await dialog.getByRole('button', { name: 'Remove authorization' }).waitFor();
    await dialog.locator('button.btn-done').click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** Swagger UI: expand an operation, "Try it out", optionally put a JSON body, "Execute"; the live answer. */
  async function tryItOut(page: Page, method: 'get' | 'post', path: string, body?: unknown): Promise<{ status: string; text: string }> {
    const op = page.locator(`.opblock.opblock-${method}`).filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) }).first();
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    if (body !== undefined) await op.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
    await op.locator('button.execute').click();
    const live = op.locator('.live-responses-table');
    const status = live.locator('.response .response-col_status').first();
    await status.waitFor();
    return {
      status: (await status.textContent())?.trim() ?? '',
      text: (await live.locator('.response .response-col_description pre').first().textContent()) ?? '',
    };
  }

  it('auth-service /docs: Authorize with a login token, Try it out GET /api/v1/users/me', async () => {
    const user = await auth.newUser();
    const login = await api.POST('/api/v1/auth/login', { body: { email: user.email, password: user.password } });
    expect(login.response.status).toBe(200);

    const page = await newPage();
    await page.goto(`${authUrl}/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'auth-service' }).waitFor();
    // The document's server is this very service.
    await expect.poll(() => page.locator('.servers select').inputValue()).toBe(authUrl);
    const token = pairOf(login.data).accessToken;
    await authorize(page, token);

    const answer = await tryItOut(page, 'get', '/api/v1/users/me');
    expect(answer.status).toBe('200');
    expect(JSON.parse(answer.text)).toMatchObject({ id: user.id, email: user.email, emailVerified: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('course-service /docs: Authorize as an instructor, Try it out POST and GET /api/v1/courses', async () => {
    const teacher = await auth.newUser({ role: 'instructor' });
    const login = await api.POST('/api/v1/auth/login', { body: { email: teacher.email, password: teacher.password } });
    expect(login.response.status).toBe(200);

    const page = await newPage();
    await page.goto(`${courseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'course-service' }).waitFor();
    await expect.poll(() => page.locator('.servers select').inputValue()).toBe(courseUrl);
    const token = pairOf(login.data).accessToken;
    await authorize(page, token);

    const created = await tryItOut(page, 'post', '/api/v1/courses', {
      title: 'Browsers for Testers',
      summary: 'Driving Chromium from tests',
      description: 'Pages, locators and the DevTools protocol.',
      category: 'Testing',
      tags: ['browser'],
      level: 'beginner',
      language: 'en',
      durationMinutes: 45,
    });
    expect(created.status, created.text).toBe('201');
    const draft = JSON.parse(created.text) as { id: string; instructorId: string; status: string };
    expect(draft).toMatchObject({ instructorId: teacher.id, status: 'draft' });
    // A create cannot publish (409 curriculum_incomplete): a lesson first, then PATCH, to see it listed.
    expect(await publishOverHttp(course.call, token, draft.id)).toMatchObject({ id: draft.id, status: 'published' });

    const listed = await tryItOut(page, 'get', '/api/v1/courses');
    expect(listed.status).toBe('200');
    const list = JSON.parse(listed.text) as { items: { id: string }[]; nextCursor: string | null };
    expect(Array.isArray(list.items)).toBe(true);
    expect(list.items.map((c) => c.id)).toContain(draft.id);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('the confirmation page and the new-password page, opened from the links in real mails', async () => {
    const email = `page-${Date.now()}@example.com`;
    const password = 'first-Password-123';
    const reg = await api.POST('/api/v1/auth/register', { body: { email, password, displayName: 'Page Reader' } });
    expect(reg.response.status).toBe(202);
    expect((await api.POST('/api/v1/auth/login', { body: { email, password } })).error?.code).toBe('email_not_verified');

    // Confirm the e-mail: the link only shows the page; the person's click uses the token.
    const verifyMail = await auth.smtp.waitFor((m) => m.to.includes(email) && /confirm/i.test(m.subject));
    const verifyLink = linkFrom(verifyMail, 'verify-email');
    expect(verifyLink.startsWith(`${authUrl}/`)).toBe(true);
    const page = await newPage();
    await page.goto(verifyLink);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Confirm your e-mail');
    await page.getByRole('button', { name: 'Confirm my e-mail' }).click();
    await expect.poll(() => page.locator('#result').textContent()).toContain('Your e-mail address is confirmed');
    expect(await page.locator('#result').getAttribute('class')).toBe('ok');
    const afterConfirm = await api.POST('/api/v1/auth/login', { body: { email, password } });
    expect(afterConfirm.response.status).toBe(200);
    expect(pairOf(afterConfirm.data).user.emailVerified).toBe(true);

    // Choose a new password.
    const forgot = await api.POST('/api/v1/auth/password/forgot', { body: { email } });
    expect(forgot.response.status).toBe(202);
    const resetMail = await auth.smtp.waitFor((m) => m.to.includes(email) && /reset/i.test(m.subject));
    const resetLink = linkFrom(resetMail, 'reset-password');
    expect(resetLink.startsWith(`${authUrl}/`)).toBe(true);
    await page.goto(resetLink);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Choose a new password');
    const newPassword = 'second-Password-456';
    await page.locator('#password').fill(newPassword);
    await page.locator('#repeat').fill(newPassword);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await expect.poll(() => page.locator('#result').textContent()).toContain('Your password is changed');
    expect(await page.locator('#result').getAttribute('class')).toBe('ok');

    const oldLogin = await api.POST('/api/v1/auth/login', { body: { email, password } });
    expect(oldLogin.response.status).toBe(401);
    const newLogin = await api.POST('/api/v1/auth/login', { body: { email, password: newPassword } });
    expect(newLogin.response.status).toBe(200);
    // The reset revoked the session made before it.
    const stale = await api.GET('/api/v1/users/me', { headers: bearer(pairOf(afterConfirm.data).accessToken) });
    expect(stale.response.status).toBe(401);

    // The page's CSP let its hashed inline script run and refused nothing it needs.
    expect(pageErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
