/** Request and response schemas of the auth API (DESIGN section 8 names the fields). */
import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, StringEnum, Uuid } from '../../shared/utils/http_schemas.js';
import { USER_ROLES } from '../../shared/utils/jwt.js';
import { LOCALES, UserSchema } from './user.js';

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254, examples: ['ada@example.com'] });
// Length is checked by the service too (in characters, not UTF-16 units); the schema bounds the work.
const Password = Type.String({ minLength: 1, maxLength: 512, description: '8..128 characters, not a common password' });
const DisplayName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const OneTimeToken = Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

export const RegisterBody = Type.Object(
  { email: Email, password: Password, displayName: DisplayName, locale: Type.Optional(StringEnum(LOCALES)) },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false });
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type RefreshBody = Static<typeof RefreshBody>;

export const LogoutBody = Type.Object(
  {
    refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    scope: Type.Optional(StringEnum(['local', 'others', 'global'] as const, { default: 'local' })),
  },
  { additionalProperties: false },
);
export type LogoutBody = Static<typeof LogoutBody>;

export const TokenBody = Type.Object({ token: OneTimeToken }, { additionalProperties: false });
export const EmailBody = Type.Object({ email: Email }, { additionalProperties: false });
export const ResetBody = Type.Object({ token: OneTimeToken, password: Password }, { additionalProperties: false });
export const ChangePasswordBody = Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false });

export const TokenPairSchema = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
    refreshToken: Type.String(),
    user: UserSchema,
  },
  { $id: 'TokenPair' },
);

export const AcceptedSchema = Type.Object({ message: Type.String() }, { $id: 'Accepted' });

/** RFC 6749 section 4.4 (form or JSON); client_secret_basic is accepted too. */
export const ClientCredentialsBody = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 64 }),
    client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    scope: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type ClientCredentialsBody = Static<typeof ClientCredentialsBody>;

export const ClientTokenSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
});

export const ProfilePatchBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    locale: Type.Optional(StringEnum(LOCALES)),
    preferences: Type.Optional(
      Type.Object({ reviewEmails: Type.Optional(Type.Boolean()), announcementEmails: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProfilePatchBody = Static<typeof ProfilePatchBody>;

export const AdminUserQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    role: Type.Optional(StringEnum(USER_ROLES)),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type AdminUserQuery = Static<typeof AdminUserQuery>;

export const AdminUserPatchBody = Type.Object(
  { role: Type.Optional(StringEnum(USER_ROLES)), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type AdminUserPatchBody = Static<typeof AdminUserPatchBody>;

export const RevokedSchema = Type.Object({ revoked: Type.Integer() });
export const SessionIdParams = Type.Object({ id: Uuid });
