import { describe, expect, it } from 'vitest';
import { filtersOf, taskQuery } from './filters.ts';

const id = '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b';

describe('taskQuery', () => {
  it('turns the address into the task list query', () => {
    const filters = filtersOf(
      new URLSearchParams({ status: 'failed', model_id: id, from: '2026-12-01T10:30', q: 'sourdough', label: 'production' }),
    );
    expect(taskQuery(filters)).toEqual({
      status: 'failed',
      model_id: id,
      created_after: '2026-12-01T10:30:00.000Z',
      q: 'sourdough',
      label: 'production',
    });
  });

  it('leaves out what the API would refuse instead of failing the page', () => {
    expect(taskQuery(filtersOf(new URLSearchParams({ status: 'nonsense', model_id: 'abc', to: 'yesterday' })))).toEqual({});
  });
});
