/** Identities at OpenID Connect providers, as stored and as the API shows them, and the OIDC route schemas. */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid } from '../../shared/utils/http_schemas.js';

export interface IdentityRow {
  id: string;
  user_id: string;
  provider: string;
  subject: string;
  email: string | null;
  created_at: Date;
  last_used_at: Date | null;
}

export const ProviderId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', description: 'A provider id from GET /api/v1/auth/providers' });

export const IdentitySchema = Type.Object(
  {
    id: Uuid,
    provider: ProviderId,
    providerName: Type.String({ description: 'The provider\'s display name (its id when no longer configured)' }),
    email: Type.Union([Type.String(), Type.Null()], { description: 'The e-mail the provider gave when the identity was linked' }),
    createdAt: Timestamp,
    lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Identity' },
);
export type Identity = Static<typeof IdentitySchema>;

export const ProviderSchema = Type.Object(
  {
    id: ProviderId,
    name: Type.String(),
    startUrl: Type.String({ description: 'Open in the browser with `?redirectTo=<a page of the front end>` to sign in' }),
  },
  { $id: 'IdentityProvider' },
);

export const ProviderParams = Type.Object({ provider: ProviderId });
export type ProviderParams = Static<typeof ProviderParams>;

const RedirectTo = Type.String({ minLength: 8, maxLength: 2000, description: 'Absolute URL of a front-end page on an allowed origin (oidc.redirectOrigins); the result comes back there as `code` or `error`' });
export const StartQuery = Type.Object({ redirectTo: RedirectTo });
export type StartQuery = Static<typeof StartQuery>;

// Providers add their own parameters (Google: authuser, prompt, scope...): the callback takes any, and
// openid-client reads the whole query.
const Param = Type.String({ maxLength: 4000 });
export const CallbackQuery = Type.Object(
  { code: Type.Optional(Param), state: Type.Optional(Param), iss: Type.Optional(Param), error: Type.Optional(Param), error_description: Type.Optional(Param) },
  { additionalProperties: true },
);
export type CallbackQuery = Static<typeof CallbackQuery>;

export const ExchangeBody = Type.Object({ code: Type.String({ minLength: 10, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });
export type ExchangeBody = Static<typeof ExchangeBody>;

export const LinkBody = Type.Object({ provider: ProviderId, redirectTo: RedirectTo }, { additionalProperties: false });
export type LinkBody = Static<typeof LinkBody>;

export const LinkStartSchema = Type.Object(
  { authorizationUrl: Type.String({ description: 'Send the browser here at once (valid for oidc.stateTtlSec); it comes back to redirectTo with `linked=<provider>` or `error`' }) },
  { $id: 'IdentityLinkStart' },
);

export function toIdentity(row: IdentityRow, providerName: string): Identity {
  return {
    id: row.id,
    provider: row.provider,
    providerName,
    email: row.email,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}
