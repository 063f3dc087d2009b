/**
 * The two small pages that mail links open. A link only shows a page; the token is used by a POST
 * that the person starts, so a mail scanner that follows links cannot use it up. The token stays in
 * the page's URL and is read by the script; it is never echoed into the HTML.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
h1{font-size:1.4rem}button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.4rem;background:#2563eb;color:#fff;cursor:pointer}
input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0 1rem}#result{margin-top:1rem}
.ok{color:#047857}.err{color:#b91c1c}`;

export const COMMON_SCRIPT = `
const token = new URLSearchParams(location.search).get('token') || '';
const out = document.getElementById('result');
function show(ok, text) { out.className = ok ? 'ok' : 'err'; out.textContent = text; }
async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.ok) return null;
  try { return (await res.json()).detail || 'Something went wrong'; } catch { return 'Something went wrong'; }
}`;

const VERIFY_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('confirm').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const err = await post('/api/v1/auth/verify-email', { token });
  show(!err, err || 'Your e-mail address is confirmed. You can log in now.');
  if (err) e.target.disabled = false;
});`;

const RESET_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const password = document.getElementById('password').value;
  if (password !== document.getElementById('repeat').value) return show(false, 'The two passwords differ.');
  const err = await post('/api/v1/auth/password/reset', { token, password });
  show(!err, err || 'Your password is changed. Log in with the new one.');
  if (!err) document.getElementById('save').disabled = true;
});`;

export function page(title: string, body: string, script: string): { html: string; csp: string } {
  const hash = createHash('sha256').update(script).digest('base64');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>${body}<p id="result" role="status"></p><script>${script}</script></body></html>`;
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'sha256-${styleHash}'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;
  return { html, csp };
}

const VERIFY = page('Confirm your e-mail', '<p>Press the button to confirm your e-mail address.</p><button id="confirm" type="button">Confirm my e-mail</button>', VERIFY_SCRIPT);
const RESET = page(
  'Choose a new password',
  `<form id="form"><label for="password">New password (at least 8 characters)</label>
<input id="password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required>
<label for="repeat">Repeat it</label><input id="repeat" type="password" autocomplete="new-password" minlength="8" maxlength="128" required>
<button id="save" type="submit">Save the new password</button></form>`,
  RESET_SCRIPT,
);
const UNSUBSCRIBE_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('stop').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const err = await post('/api/v1/users/unsubscribe?token=' + encodeURIComponent(token), {});
  show(!err, err || 'Done: no more mails about reviews. You can turn them back on in your profile.');
  if (err) e.target.disabled = false;
});`;

const UNSUBSCRIBE = page(
  'Stop review mails',
  '<p>Press the button to stop mails about reviews (new reviews of your courses, moderation of yours). Mails about your account still come.</p><button id="stop" type="button">Stop review mails</button>',
  UNSUBSCRIBE_SCRIPT,
);

export function send(reply: FastifyReply, p: { html: string; csp: string }) {
  return reply
    .header('content-security-policy', p.csp)
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(p.html);
}

export class PagesController {
  verifyEmail = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, VERIFY);
  resetPassword = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, RESET);
  unsubscribe = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, UNSUBSCRIBE);
}
