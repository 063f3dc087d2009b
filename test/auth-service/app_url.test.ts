/** APP_URL: mails that say "log in" link to the front end's login page when a front end is known. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

describe.skipIf(!hasPostgres)('APP_URL in account mails', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth({ appUrl: 'https://app.test.example', links: { loginPage: '/sign-in' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('links "log in" of the account-exists mail to appUrl + links.loginPage', async () => {
    const user = await h.newUser();
    const res = await h.call('POST', '/api/v1/auth/register', { body: { email: user.email, password: 'another long password', displayName: 'Twin' } });
    expect(res.status).toBe(202);
    const mail = await h.smtp.waitFor((m) => m.to.includes(user.email));
    expect(mail.text).toContain('Log in:\nhttps://app.test.example/sign-in\n');
  });
});
