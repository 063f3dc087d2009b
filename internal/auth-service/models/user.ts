/** Users as stored and as the API shows them. */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { USER_ROLES, type UserRole } from '../../shared/utils/jwt.js';

export const LOCALES = ['en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

export interface UserRow {
  id: string;
  email: string;
  /** NULL for an account made by an identity provider sign-in until it sets a password (migration 0009). */
  password_hash: string | null;
  display_name: string;
  role: UserRole;
  locale: Locale;
  email_verified_at: Date | null;
  disabled_at: Date | null;
  notify_reviews: boolean;
  notify_announcements: boolean;
  created_at: Date;
  updated_at: Date;
}

export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String({ format: 'email' }),
    displayName: Type.String(),
    role: StringEnum(USER_ROLES),
    locale: StringEnum(LOCALES),
    emailVerified: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'User' },
);
export type User = Static<typeof UserSchema>;

export const ProfileSchema = Type.Object(
  {
    ...UserSchema.properties,
    preferences: Type.Object({
      reviewEmails: Type.Boolean({ description: 'Mail me about reviews of my courses and of my reviews' }),
      announcementEmails: Type.Boolean({ description: 'Mail me the announcements of the courses I am enrolled in' }),
    }),
  },
  { $id: 'Profile' },
);
export type Profile = Static<typeof ProfileSchema>;

export const AdminUserSchema = Type.Object(
  { ...UserSchema.properties, disabled: Type.Boolean(), disabledAt: Type.Union([Timestamp, Type.Null()]) },
  { $id: 'AdminUser' },
);
export type AdminUser = Static<typeof AdminUserSchema>;

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    locale: row.locale,
    emailVerified: row.email_verified_at !== null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toProfile(row: UserRow): Profile {
  return { ...toUser(row), preferences: { reviewEmails: row.notify_reviews, announcementEmails: row.notify_announcements } };
}

export function toAdminUser(row: UserRow): AdminUser {
  return { ...toUser(row), disabled: row.disabled_at !== null, disabledAt: row.disabled_at?.toISOString() ?? null };
}

/** E-mails compare exactly after trimming and lower-casing (the column holds this form). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
