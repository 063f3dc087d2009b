/** Two-factor sign-in: rows of the MFA tables and the wire schemas of the MFA endpoints. */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { TokenPairSchema } from './auth_schemas.js';

export interface MfaFactorRow {
  id: string;
  user_id: string;
  kind: 'totp';
  secret_enc: Buffer;
  last_used_step: string | number;
  created_at: Date;
  activated_at: Date | null;
  last_used_at: Date | null;
}

export interface MfaChallengeRow {
  id: string;
  user_id: string;
  amr: string[];
  event: string;
  ip: string | null;
  user_agent: string | null;
  expires_at: Date;
}

export const MFA_METHODS = ['totp', 'recovery_code'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];

export const RECOVERY_CODE_COUNT = 10;

// Six digits; recovery codes are "xxxxx-xxxxx" (spaces and dashes are ignored, case too).
const TotpCode = Type.String({ pattern: '^[0-9]{6}$', description: 'Six digits from the authenticator app', examples: ['123456'] });
const RecoveryCode = Type.String({ minLength: 10, maxLength: 24, pattern: '^[A-Za-z0-9 -]+$', description: 'A recovery code', examples: ['abcde-fghjk'] });
const MfaToken = Type.String({ minLength: 20, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

export const MfaChallengeSchema = Type.Object(
  {
    mfaRequired: Type.Literal(true),
    mfaToken: Type.String({ description: 'Single use; send it to /api/v1/auth/mfa/verify with a code' }),
    methods: Type.Array(StringEnum(MFA_METHODS)),
    expiresIn: Type.Integer({ description: 'Seconds until the mfaToken expires' }),
  },
  { $id: 'MfaChallenge', additionalProperties: false, description: 'The first factor was right; the account uses two-factor sign-in: no token yet' },
);
export type MfaChallenge = Static<typeof MfaChallengeSchema>;

/** What a login answers: the token pair, or (MFA on) the second step's challenge. */
export const LoginResultSchema = Type.Union([TokenPairSchema, MfaChallengeSchema], {
  description: 'The token pair, or `{mfaRequired: true, ...}` when the account uses two-factor sign-in',
});

export const MfaVerifyBody = Type.Union(
  [
    Type.Object({ mfaToken: MfaToken, method: Type.Literal('totp'), code: TotpCode }, { additionalProperties: false }),
    Type.Object({ mfaToken: MfaToken, method: Type.Literal('recovery_code'), code: RecoveryCode }, { additionalProperties: false }),
  ],
  { description: 'The mfaToken of the login answer and a code: `totp` (6 digits) or `recovery_code` (xxxxx-xxxxx; case, spaces and dashes do not matter)' },
);
export type MfaVerifyBody = Static<typeof MfaVerifyBody>;

export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    code: Type.Optional(TotpCode),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'Exactly one: the password, or (MFA on) a code from the authenticator app' },
);
export type ReauthenticateBody = Static<typeof ReauthenticateBody>;

export const ActivateBody = Type.Object({ code: TotpCode }, { additionalProperties: false });
export const NotMeBody = Type.Object({ token: Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });

export const TotpEnrolmentSchema = Type.Object({
  factorId: Uuid,
  secret: Type.String({ description: 'Base32 secret, for typing into the app; shown once' }),
  otpauthUri: Type.String({ description: 'otpauth://totp/... for a QR code' }),
});

export const RecoveryCodesSchema = Type.Object({
  recoveryCodes: Type.Array(Type.String(), { minItems: RECOVERY_CODE_COUNT, maxItems: RECOVERY_CODE_COUNT, description: 'Shown once; each works once' }),
});

export const MfaFactorSchema = Type.Object({
  id: Uuid,
  type: Type.Literal('totp'),
  status: StringEnum(['pending', 'active'] as const),
  createdAt: Timestamp,
  activatedAt: Type.Union([Timestamp, Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
});
export type MfaFactor = Static<typeof MfaFactorSchema>;

export const MfaStatusSchema = Type.Object({
  factors: Type.Array(MfaFactorSchema),
  recoveryCodesRemaining: Type.Integer({ minimum: 0 }),
});
export type MfaStatus = Static<typeof MfaStatusSchema>;

export function toMfaFactor(row: MfaFactorRow): MfaFactor {
  return {
    id: row.id,
    type: 'totp',
    status: row.activated_at ? 'active' : 'pending',
    createdAt: row.created_at.toISOString(),
    activatedAt: row.activated_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}
