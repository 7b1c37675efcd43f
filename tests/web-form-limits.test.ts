/**
 * The dashboard's forms check in the browser what the API's contract says (web/src/lib/forms/limits.ts):
 * each limit there is read here from the contract's own zod schema, so the two cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AccountCreateSchema, PasswordChangeSchema, SetupBodySchema, TokenCreateSchema } from '@llmops/kit/contracts/gateway';
import { LIMITS } from '../web/src/lib/forms/limits.ts';

type JsonSchema = { properties: Record<string, { minLength?: number; maxLength?: number }> };
const fieldOf = (schema: z.ZodType, field: string) =>
  (z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema).properties[field];

describe('the limits the dashboard checks before sending', () => {
  it('are the contract’s', () => {
    for (const schema of [SetupBodySchema, AccountCreateSchema]) {
      expect(fieldOf(schema, 'password')).toMatchObject({
        minLength: LIMITS.password.minlength,
        maxLength: LIMITS.password.maxlength,
      });
      expect(fieldOf(schema, 'name')).toMatchObject({ maxLength: LIMITS.personName.maxlength });
      expect(fieldOf(schema, 'email')).toMatchObject({ maxLength: LIMITS.email.maxlength });
    }
    expect(fieldOf(PasswordChangeSchema, 'new_password')).toMatchObject({
      minLength: LIMITS.password.minlength,
      maxLength: LIMITS.password.maxlength,
    });
    expect(fieldOf(TokenCreateSchema, 'name')).toMatchObject({ maxLength: LIMITS.tokenName.maxlength });
  });
});
