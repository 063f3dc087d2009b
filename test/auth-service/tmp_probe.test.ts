import { it } from 'vitest';
import { startAuth } from '../helpers/auth_app.js';
it('probe', async () => {
  const h = await startAuth();
  const u = await h.newUser();
  const t = await h.login(u.email, u.password);
  const r = await h.call('POST', '/api/v1/auth/logout', { token: t.accessToken });
  console.error(r.status, r.text);
  const r2 = await h.call('POST', '/api/v1/auth/logout', { token: t.accessToken, body: {} });
  console.error(r2.status, r2.text);
  const r3 = await h.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${t.accessToken}`, 'content-type': 'application/json' }, payload: '' });
  console.error(r3.statusCode, r3.body);
  console.error(JSON.stringify((h.app.swagger() as any).paths['/api/v1/auth/logout'], null, 1).slice(0, 1500));
  await h.close();
});
