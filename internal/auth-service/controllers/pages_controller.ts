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
  show(!err, err || 'Done: no more mails of this kind. You can turn them back on in your profile.');
  if (err) e.target.disabled = false;
});`;

const UNSUBSCRIBE = page(
  'Stop these mails',
  '<p>Press the button to stop the kind of mail whose link you followed: review mails (new reviews of your courses, moderation of yours) or course announcements. Mails about your account still come.</p><button id="stop" type="button">Stop these mails</button>',
  UNSUBSCRIBE_SCRIPT,
);

// E-mail change (issue 18): one page for the confirm (new address) and approve (old address) links, one
// for "this was not me". As above, the token is used only by the POST the person starts.
const EMAIL_CHANGE_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('confirm').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const res = await fetch('/api/v1/auth/email-change/confirm', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  let body = {};
  try { body = await res.json(); } catch {}
  if (!res.ok) { show(false, body.detail || 'Something went wrong'); e.target.disabled = false; return; }
  show(true, body.state === 'completed'
    ? 'Done: your account now uses the new address. Other devices were signed out.'
    : 'Confirmed. The change completes when the other address confirms too.');
});`;

const EMAIL_CHANGE = page(
  'Confirm the e-mail change',
  '<p>Press the button to confirm the change of your account\'s e-mail address.</p><button id="confirm" type="button">Confirm</button>',
  EMAIL_CHANGE_SCRIPT,
);

const EMAIL_CHANGE_CANCEL_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('cancel').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const err = await post('/api/v1/auth/email-change/cancel', { token });
  show(!err, err || 'The change is cancelled and every device is signed out. Change your password now.');
  if (err) e.target.disabled = false;
});`;

const EMAIL_CHANGE_CANCEL = page(
  'Cancel the e-mail change',
  '<p>If you did not ask to change your e-mail address, press the button: the change is cancelled and every device is signed out of your account.</p><button id="cancel" type="button">This was not me</button>',
  EMAIL_CHANGE_CANCEL_SCRIPT,
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
  emailChange = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, EMAIL_CHANGE);
  emailChangeCancel = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, EMAIL_CHANGE_CANCEL);
}
