/**
 * Glob matching for RAM policies (protocol.md §11.2/§11.3): `*` is any run of characters,
 * `?` exactly one. Patterns are compiled once, at parse time, into a single anchored RegExp
 * per pattern list so that evaluating a statement costs one `test()` call.
 *
 * A plain translation (`*` → `.*`) lets the regular expression engine try every way of sharing
 * the input among the stars: `*a*a*a*a*b` against a long run of `a` takes time growing with a
 * power of its length, and a policy is evaluated on every request. Here the piece between two
 * stars is matched at its first occurrence after the previous piece, inside a lookahead whose
 * match a backreference then consumes, and JavaScript never goes back into a lookahead. A piece
 * has a fixed length (letters and `?`), so its first occurrence is always as good as any later
 * one: the matches are those of the plain translation, found in time proportional to the input
 * times the pattern.
 */

const REGEX_SPECIALS = /[.+^${}()|[\]\\]/g;

function pieceSource(piece: string): string {
  return piece.replace(REGEX_SPECIALS, '\\$&').replaceAll('?', '.');
}

/** `names` numbers the capture groups across all patterns of one RegExp (names must differ). */
function globSource(pattern: string, names: { next: number }): string {
  const pieces = pattern.split('*').map(pieceSource);
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return first;
  let source = first;
  for (const middle of pieces.slice(1, -1)) {
    if (middle === '') continue;
    const name = `g${names.next++}`;
    source += `(?=(?<${name}>.*?${middle}))\\k<${name}>`;
  }
  return `${source}.*${pieces[pieces.length - 1] ?? ''}`;
}

/** One RegExp that matches when the input matches any of `patterns` in full. */
export function compileGlobs(patterns: readonly string[], ignoreCase: boolean): RegExp {
  // `s` so that `*`/`?` also span line breaks: a context value is arbitrary caller data.
  const flags = ignoreCase ? 'is' : 's';
  const names = { next: 0 };
  return new RegExp(`^(?:${patterns.map((p) => globSource(p, names)).join('|')})$`, flags);
}
