/**
 * Review DTOs and write bodies. As with courses, DTO builders emit keys in schema order so the HTTP
 * serialiser and `etagOf` agree.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Page, StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';

export const REVIEW_STATUSES = ['visible', 'hidden'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export const REVIEW_SORTS = ['newest', 'rating_desc', 'rating_asc'] as const;
export type ReviewSort = (typeof REVIEW_SORTS)[number];

const Status = StringEnum(REVIEW_STATUSES);
const Rating = Type.Integer({ minimum: 1, maximum: 5 });

export const ReviewResponseSchema = Type.Object({ body: Type.String(), respondedAt: Timestamp });

export const ReviewSchema = Type.Object({
  id: Uuid,
  courseId: Uuid,
  authorId: Type.Union([Uuid, Type.Null()], { description: 'Null when the author deleted their account (the review stays, anonymous)' }),
  authorName: Type.String(),
  rating: Rating,
  title: Type.Union([Type.String(), Type.Null()]),
  body: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  response: Type.Union([ReviewResponseSchema, Type.Null()], { description: "The course instructor's public answer" }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ReviewDto = Static<typeof ReviewSchema>;

export const ReviewPageSchema = Page(ReviewSchema);
export type ReviewPage = Static<typeof ReviewPageSchema>;

const Title = Type.String({ maxLength: 200 });
const Body = Type.String({ maxLength: 5000 });

export const ReviewCreateBody = Type.Object(
  { rating: Rating, title: Type.Optional(Title), body: Type.Optional(Body) },
  { additionalProperties: false },
);
export type ReviewCreateInput = Static<typeof ReviewCreateBody>;

/** The author's edit; `null` (or an empty string) clears a title or body. */
export const ReviewAuthorPatchBody = Type.Object(
  {
    rating: Type.Optional(Rating),
    title: Type.Optional(Type.Union([Title, Type.Null()])),
    body: Type.Optional(Type.Union([Body, Type.Null()])),
  },
  { additionalProperties: false },
);
export type ReviewAuthorPatchInput = Static<typeof ReviewAuthorPatchBody>;

/** An admin's moderation. */
export const ReviewModerationBody = Type.Object({ status: Status }, { additionalProperties: false });
export type ReviewModerationInput = Static<typeof ReviewModerationBody>;

/**
 * What `PATCH /reviews/{id}` accepts: author fields and/or `status`. The service decides who may set
 * which (content: the author only; status: admins only).
 */
export const ReviewPatchBody = Type.Object(
  {
    rating: Type.Optional(Rating),
    title: Type.Optional(Type.Union([Title, Type.Null()])),
    body: Type.Optional(Type.Union([Body, Type.Null()])),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);
export type ReviewPatchInput = Static<typeof ReviewPatchBody>;

export const ReviewResponseBody = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 5000 }) },
  { additionalProperties: false },
);
export type ReviewResponseInput = Static<typeof ReviewResponseBody>;

const PageFields = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Opaque cursor from a previous page' })),
};

export const CourseReviewListQuery = Type.Object(
  {
    sort: Type.Optional(StringEnum(REVIEW_SORTS, { default: 'newest' })),
    rating: Type.Optional(Rating),
    ...PageFields,
  },
  { additionalProperties: false },
);
export type CourseReviewListInput = Static<typeof CourseReviewListQuery>;

export const AuthorReviewListQuery = Type.Object({ authorId: Uuid, ...PageFields }, { additionalProperties: false });
export type AuthorReviewListInput = Static<typeof AuthorReviewListQuery>;

export interface ReviewRow {
  id: string;
  course_id: string;
  /** Null once the author's account is deleted (migration 0012). */
  author_id: string | null;
  author_name: string;
  rating: number;
  title: string | null;
  body: string | null;
  status: ReviewStatus;
  response_body: string | null;
  responded_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toReviewDto(row: ReviewRow): ReviewDto {
  // Keys in ReviewSchema order.
  return {
    id: row.id,
    courseId: row.course_id,
    authorId: row.author_id,
    authorName: row.author_name,
    rating: Number(row.rating),
    title: row.title,
    body: row.body,
    status: row.status,
    response:
      row.response_body !== null && row.responded_at !== null
        ? { body: row.response_body, respondedAt: isoTime(row.responded_at) }
        : null,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}
