/**
 * JSON schemas of the public API (TypeBox): one definition validates requests, serialises
 * responses, types the handlers, and documents the route in /openapi.json.
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'snake_case error code' }),
    message: Type.String({ description: 'what went wrong and how to fix it' }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
}, { $id: 'Error' });

/** A string from a fixed set, as one JSON-schema `enum` (clearer errors and docs than a union of literals). */
/**
 * A number (or integer) or null, as one JSON-schema `type` list. Fastify's AJV coerces types:
 * with a union it would coerce 0 to null (null tried first: "no limit" for a limit of 0) or
 * null to 0 (number first); with a type list it coerces only what matches neither.
 */
export const NumberOrNull = (o: { integer?: boolean; minimum?: number; maximum?: number; description?: string } = {}) => {
  const { integer, ...rest } = o;
  return Type.Unsafe<number | null>({ type: [integer ? 'integer' : 'number', 'null'], ...rest });
};

export const StringEnum = <const T extends readonly string[]>(values: T, opts: { description?: string; default?: T[number] } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

export const ListOf = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item) });

export const IdOrNameParams = Type.Object({ idOrName: Type.String({ description: 'id or name' }) });
export const IdParams = Type.Object({ id: Type.String() });

export const Tenant = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }) });
export const CreateTenant = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const Role = StringEnum(['admin', 'developer', 'viewer', 'inference'] as const);
export const CreateKey = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  role: Role,
  tenant: Type.Optional(Type.String({ description: 'tenant id or name (admins only; others create keys in their own tenant)' })),
  endpoint: Type.Optional(Type.String({ description: 'inference keys only: the one endpoint this key may call' })),
}, { additionalProperties: false });
export const ApiKey = Type.Object({
  id: Type.String(), name: Type.String(), role: Role, tenant: Type.Union([Type.String(), Type.Null()]),
  endpoint: Type.Union([Type.String(), Type.Null()]), hint: Type.String({ description: 'the first characters of the key' }),
  createdAt: Type.String(), lastUsedAt: Type.Union([Type.String(), Type.Null()]), revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export const CreatedKey = Type.Composite([ApiKey, Type.Object({ key: Type.String({ description: 'the secret: shown only in this response' }) })]);

export const AuditEntry = Type.Object({
  id: Type.String(), at: Type.String(), requestId: Type.String(), keyId: Type.Union([Type.String(), Type.Null()]),
  keyName: Type.Union([Type.String(), Type.Null()]), role: Type.Union([Type.String(), Type.Null()]),
  tenant: Type.Union([Type.String(), Type.Null()]), method: Type.String(), path: Type.String(),
  route: Type.Union([Type.String(), Type.Null()]), objectId: Type.Union([Type.String(), Type.Null()]),
  statusCode: Type.Integer(), outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
});

export const ColumnType = StringEnum(['number', 'integer', 'category', 'text', 'boolean'] as const);
export const ColumnProfile = Type.Object({
  name: Type.String(),
  type: ColumnType,
  missing: Type.Integer(),
  distinct: Type.Integer(),
  distinctCapped: Type.Optional(Type.Boolean()),
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
  mean: Type.Optional(Type.Number()),
  std: Type.Optional(Type.Number()),
  topValues: Type.Optional(Type.Array(Type.Object({ value: Type.Union([Type.String(), Type.Boolean(), Type.Number()]), count: Type.Integer() }))),
  histogram: Type.Optional(Type.Object({ edges: Type.Array(Type.Number()), counts: Type.Array(Type.Integer()) })),
  text: Type.Optional(Type.Object({
    length: Type.Object({
      min: Type.Integer(), max: Type.Integer(), mean: Type.Number(),
      histogram: Type.Object({ edges: Type.Array(Type.Number()), counts: Type.Array(Type.Integer()) }),
    }, { description: 'in Unicode code points' }),
    characters: Type.Integer({ description: 'distinct code points' }),
    tokens: Type.Integer({ description: 'words in all values: runs of letters and digits; each Han/kana character and emoji is one' }),
    vocabulary: Type.Integer({ description: 'distinct lower-cased tokens' }),
    vocabularyCapped: Type.Optional(Type.Boolean()),
    topTokens: Type.Array(Type.Object({ token: Type.String(), count: Type.Integer() })),
    topCharacters: Type.Array(Type.Object({ character: Type.String(), count: Type.Integer() })),
  }, { description: 'text columns only' })),
}, { additionalProperties: true });
export const DatasetVersion = Type.Object({
  id: Type.String(), name: Type.String(), version: Type.Integer(), format: Type.String(),
  filename: Type.Union([Type.String(), Type.Null()]), rows: Type.Integer(), bytes: Type.Integer(),
  columns: Type.Array(ColumnProfile), createdAt: Type.String(),
});
export const DatasetSummary = Type.Object({
  id: Type.String(), name: Type.String(), latestVersion: Type.Integer(), rows: Type.Integer(), bytes: Type.Integer(),
  columns: Type.Integer({ description: 'number of columns' }), createdAt: Type.String(), updatedAt: Type.String(),
});
export const VersionQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) });


/** GET /v1/whoami: the calling key, its tenant, the tenant it acts in (X-Tenant), and what it may grant. */
export const Whoami = Type.Object({
  key: Type.Object({ id: Type.String(), name: Type.String(), role: Type.String(), endpoint: Type.Union([Type.String(), Type.Null()]) }),
  tenant: Type.Object({ id: Type.String(), name: Type.String() }, { description: 'the tenant the key belongs to' }),
  actingTenant: Type.Object({ id: Type.String(), name: Type.String() }, { description: 'the tenant this request acts in (differs for an admin sending X-Tenant)' }),
  canGrant: Type.Array(Type.String(), { description: 'roles this key may give to keys it creates' }),
});
