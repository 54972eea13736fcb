/**
 * Glob matching for RAM policies (protocol.md §11.2/§11.3): `*` is any run of characters,
 * `?` exactly one. Patterns are compiled once, at parse time, into a single anchored RegExp
 * per pattern list so that evaluating a statement costs one `test()` call.
 */

const REGEX_SPECIALS = /[.+^${}()|[\]\\]/g;

function globSource(pattern: string): string {
  return pattern.replace(REGEX_SPECIALS, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
}

/** One RegExp that matches when the input matches any of `patterns` in full. */
export function compileGlobs(patterns: readonly string[], ignoreCase: boolean): RegExp {
  // `s` so that `*`/`?` also span line breaks: a context value is arbitrary caller data.
  const flags = ignoreCase ? 'is' : 's';
  return new RegExp(`^(?:${patterns.map(globSource).join('|')})$`, flags);
}
