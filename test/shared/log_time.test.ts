/** The access lines' timestamp, formatted once per millisecond, is the text pino's isoTime gives. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { isoTimeOncePerMs } from '../../internal/shared/utils/logging.js';

describe('isoTimeOncePerMs', () => {
  afterEach(() => vi.useRealTimers());

  it('gives what pino.stdTimeFunctions.isoTime gives, and moves with the clock', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-07T01:02:03.004Z'));
    expect(isoTimeOncePerMs()).toBe(pino.stdTimeFunctions.isoTime());
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-07T01:02:03.004Z"');
    vi.setSystemTime(new Date('2026-12-07T01:02:03.005Z'));
    expect(isoTimeOncePerMs()).toBe(',"time":"2026-12-07T01:02:03.005Z"');
    expect(isoTimeOncePerMs()).toBe(pino.stdTimeFunctions.isoTime());
  });
});
