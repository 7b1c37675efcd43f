import { describe, expect, it } from 'vitest';
import { publicDocument } from '@llmops/kit/contracts/document';

/** Every `$ref` in `value`, and every JSON Schema keyword that would make a reference mean something else. */
function references(value: unknown, found = { refs: new Set<string>(), scoping: new Set<string>() }) {
  if (Array.isArray(value)) for (const item of value) references(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.refs.add(item);
      else if (['$id', '$anchor', '$dynamicRef', '$dynamicAnchor'].includes(key)) found.scoping.add(key);
      references(item, found);
    }
  }
  return found;
}

describe('the API reference page', () => {
  // The page resolves references with swagger-client's OpenAPI 3.0 resolver (docs.ts): right only while the
  // document's references are local component references that no `$id` or anchor re-scopes.
  it('reads a document whose references are all local component references', () => {
    const { refs, scoping } = references(publicDocument());
    expect(refs.size).toBeGreaterThan(0);
    expect([...refs].filter((ref) => !/^#\/components\/[A-Za-z]+\/[^/]+$/.test(ref))).toEqual([]);
    expect([...scoping]).toEqual([]);
  });
});
