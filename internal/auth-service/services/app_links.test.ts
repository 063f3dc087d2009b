import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../config.js';
import { AppLinks } from './app_links.js';
import { renderMail } from './mail/templates.js';

const TEMPLATES = { coursePage: '/courses/{slug}', certificatePage: '/certificates/{verificationId}', loginPage: '/login' };

describe('AppLinks (APP_URL)', () => {
  it('builds front-end pages from appUrl and the path templates', () => {
    const links = new AppLinks('https://app.example.com/', TEMPLATES);
    expect(links.coursePage({ slug: 'intro-to-sql', id: 'c1' })).toBe('https://app.example.com/courses/intro-to-sql');
    expect(links.loginPage()).toBe('https://app.example.com/login');
    const byId = new AppLinks('https://app.example.com/base', { ...TEMPLATES, coursePage: '/c/{id}?from=mail' });
    expect(byId.coursePage({ slug: 'intro-to-sql', id: '0190a1b2-0000-7000-8000-000000000001' })).toBe(
      'https://app.example.com/base/c/0190a1b2-0000-7000-8000-000000000001?from=mail',
    );
  });

  it('encodes values, so a slug cannot add a path, a query or a fragment', () => {
    const links = new AppLinks('https://app.example.com', TEMPLATES);
    expect(links.coursePage({ slug: '../admin?x=1#y' })).toBe('https://app.example.com/courses/..%2Fadmin%3Fx%3D1%23y');
  });

  it('gives nothing without appUrl or without a value the template names (the caller keeps its link)', () => {
    expect(new AppLinks('', TEMPLATES).coursePage({ slug: 'intro-to-sql' })).toBeUndefined();
    expect(new AppLinks('', TEMPLATES).loginPage()).toBeUndefined();
    const links = new AppLinks('https://app.example.com', TEMPLATES);
    expect(links.coursePage({ id: 'c1' })).toBeUndefined();
    expect(links.coursePage({ slug: 42 })).toBeUndefined();
    expect(links.coursePage({ slug: '' })).toBeUndefined();
  });

  it('is a setting: APP_URL, with defaults for the templates, and only http(s) addresses', () => {
    const config = loadAuthConfig({ env: { APP_URL: 'https://app.example.com' } });
    expect(config.appUrl).toBe('https://app.example.com');
    expect(config.links).toEqual({ coursePage: '/courses/{slug}', certificatePage: '/certificates/{verificationId}', loginPage: '/login' });
    expect(loadAuthConfig({ env: {} }).appUrl).toBe('');
    expect(() => loadAuthConfig({ env: { APP_URL: 'javascript:alert(1)' } })).toThrow(/appUrl \(from APP_URL\)/);
    expect(() => loadAuthConfig({ env: { APP_URL: 'https://app.example.com/?q=1' } })).toThrow(/appUrl/);
    expect(() => loadAuthConfig({ env: {}, overrides: { links: { coursePage: 'https://elsewhere.example/{slug}' } } })).toThrow(/links\.coursePage/);
  });

  it('its course page is the review mail\'s button, in both parts', () => {
    const courseLink = new AppLinks('https://app.example.com', TEMPLATES).coursePage({ slug: 'intro-to-sql' })!;
    const mail = renderMail('review_created', 'en', {
      displayName: 'Ada',
      courseTitle: 'Intro to SQL',
      rating: 5,
      authorName: 'Bob',
      courseLink,
      unsubscribeLink: 'https://auth.example.com/api/v1/auth/pages/unsubscribe?token=u',
    });
    expect(mail.text).toContain('Open the course:\nhttps://app.example.com/courses/intro-to-sql\n');
    expect(mail.html).toContain('href="https://app.example.com/courses/intro-to-sql"');
  });
});
