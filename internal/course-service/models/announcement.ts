/** Course announcements: what an instructor posts to the active learners of a course, mailed once to each. */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';

export const ANNOUNCEMENT_STATUSES = ['sending', 'sent'] as const;
export type AnnouncementStatus = (typeof ANNOUNCEMENT_STATUSES)[number];

/** At most this many announcements per course in 24 hours: learners' inboxes are not a megaphone. */
export const ANNOUNCEMENTS_PER_DAY = 5;

export const AnnouncementCreateBody = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 200 }),
    body: Type.String({ minLength: 1, maxLength: 10_000 }),
  },
  { additionalProperties: false },
);
export type AnnouncementCreateInput = Static<typeof AnnouncementCreateBody>;

export const AnnouncementSchema = Type.Object({
  id: Uuid,
  courseId: Uuid,
  subject: Type.String(),
  body: Type.String(),
  status: StringEnum(ANNOUNCEMENT_STATUSES, { description: '`sending` while learners are being queued; `sent` once every active learner has a mail' }),
  recipients: Type.Integer({ description: 'Learners queued so far (every active learner once `sent`)' }),
  createdAt: Timestamp,
  sentAt: Type.Union([Timestamp, Type.Null()]),
});
export type AnnouncementDto = Static<typeof AnnouncementSchema>;

export interface AnnouncementRow {
  id: string;
  course_id: string;
  author_id: string;
  author_name: string;
  subject: string;
  body: string;
  status: AnnouncementStatus;
  fanout_after: string | null;
  recipients: number;
  created_at: Date;
  sent_at: Date | null;
}

export function toAnnouncementDto(row: AnnouncementRow): AnnouncementDto {
  return {
    id: row.id,
    courseId: row.course_id,
    subject: row.subject,
    body: row.body,
    status: row.status,
    recipients: row.recipients,
    createdAt: isoTime(row.created_at),
    sentAt: row.sent_at ? isoTime(row.sent_at) : null,
  };
}
