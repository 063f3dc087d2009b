/**
 * The instructor's analytics of one course: the owner and admins (404 to everyone else, as for a
 * draft). Exact because every figure is a counter written in the transaction of its change; this reads
 * the counters and never scans enrolments.
 */
import type { Database } from '../../shared/utils/database.js';
import { isUuid } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import { DEFAULT_STATS_DAYS, MAX_STATS_DAYS, StatsQuery, type CourseStatsDto, type StatsInput } from '../models/enrolment.js';
import { courseNotFound } from '../models/errors.js';
import { StatsRepository } from '../repository/stats_repository.js';
import { isAdmin, requireUser } from './access.js';
import { fieldError, validateInput } from './validation.js';

const DAY_MS = 86_400_000;

/** A YYYY-MM-DD that is a real calendar day, as UTC midnight milliseconds; undefined otherwise. */
function parseDay(day: string): number | undefined {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) return undefined;
  return ms;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class StatsService {
  private readonly stats: StatsRepository;

  constructor(deps: { db: Database; stats?: StatsRepository }) {
    this.stats = deps.stats ?? new StatsRepository(deps.db);
  }

  async course(principal: Principal | undefined, courseIdIn: string, query: StatsInput = {}, now: Date = new Date()): Promise<CourseStatsDto> {
    const user = requireUser(principal);
    const input = validateInput(StatsQuery, query);
    if (!isUuid(courseIdIn)) throw courseNotFound();
    const courseId = courseIdIn.toLowerCase();
    const course = await this.stats.course(courseId);
    if (!course || (course.instructor_id !== user.sub && !isAdmin(user))) throw courseNotFound();

    const toMs = input.to !== undefined ? parseDay(input.to) : Date.parse(`${dayOf(now.getTime())}T00:00:00Z`);
    if (toMs === undefined) throw fieldError('/to', 'must be a calendar day (YYYY-MM-DD)');
    const fromMs = input.from !== undefined ? parseDay(input.from) : toMs - (DEFAULT_STATS_DAYS - 1) * DAY_MS;
    if (fromMs === undefined) throw fieldError('/from', 'must be a calendar day (YYYY-MM-DD)');
    if (fromMs > toMs) throw fieldError('/from', 'must not be after `to`');
    if ((toMs - fromMs) / DAY_MS + 1 > MAX_STATS_DAYS) throw fieldError('/from', `the range may span at most ${MAX_STATS_DAYS} days`);
    const from = dayOf(fromMs);
    const to = dayOf(toMs);

    const [days, lessons] = await Promise.all([this.stats.days(courseId, from, to), this.stats.lessons(courseId)]);
    const total = Number(course.learner_total);
    const completions = Number(course.completion_count);
    return {
      courseId,
      from,
      to,
      days: days.map((d) => ({ day: d.day, enrolled: Number(d.enrolled), left: Number(d.left_count), completed: Number(d.completed) })),
      activeLearners: Number(course.enrolment_count),
      totalLearners: total,
      completions,
      completionRate: total === 0 ? 0 : Math.round((completions / total) * 10_000) / 10_000,
      lessons: lessons.map((l) => ({ lessonId: l.id, title: l.title, completions: Number(l.completion_count) })),
      rating: {
        count: Number(course.rating_count),
        average: Number(course.rating_avg),
        distribution: { '1': course.rating_1, '2': course.rating_2, '3': course.rating_3, '4': course.rating_4, '5': course.rating_5 },
      },
    };
  }
}
