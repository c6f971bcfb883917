// Settings that are secrets, or that only have a default for development
// (TT_ENV=development: `make up` and test clusters). In production (the
// default) a secret has no built-in value: start-up fails naming each one.
import type { z } from 'zod';

export type RuntimeEnv = 'production' | 'development';

export interface SecretRule {
  /**
   * Value used when the setting is unset in development mode. Its presence
   * makes the setting required in production, where no default exists.
   */
  devDefault?: unknown;
  /** Why a value is refused in production (a published default, a URL without a password), or undefined. */
  refuseInProduction?: (value: unknown) => string | undefined;
}

const rules = new WeakMap<z.ZodType, SecretRule>();

/**
 * Marks a schema entry as a secret with development-only defaults; returns the
 * schema itself. It must be the key's outermost schema (wrap inside, not around).
 */
export function secret<T extends z.ZodType>(schema: T, rule: SecretRule): T {
  rules.set(schema, rule);
  return schema;
}

export function secretRule(schema: unknown): SecretRule | undefined {
  return typeof schema === 'object' && schema !== null ? rules.get(schema as z.ZodType) : undefined;
}

/** Refuses values that are published and so protect nothing (TeamTalk's AES key). */
export function refuseWellKnown(values: readonly string[], what: string): (value: unknown) => string | undefined {
  return (value) => (typeof value === 'string' && values.includes(value) ? `${what} is published and protects nothing; set your own` : undefined);
}

/** Refuses a `scheme://user@host` URL without a password. */
export function requireUrlPassword(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value.trim())) return undefined;
  return new URL(value.trim()).password === '' ? 'has no password (expected scheme://user:password@host/...)' : undefined;
}
