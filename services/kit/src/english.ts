/**
 * A phrase with its indefinite article, for messages that put a word made at run time after "a":
 * `withArticle('object')` → "an object", `withArticle('Anthropic provider')` → "an Anthropic provider".
 * By the first letter, which is right for the words messages name (types, provider kinds, topics).
 */
export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}
