/**
 * Glob matching for RAM policies (protocol.md §11.2/§11.3): `*` is any run of characters,
 * `?` exactly one (one UTF-16 code unit, as a regular expression's `.` without the `u` flag).
 *
 * A loop rather than a regular expression. Translated to `.*`, several stars let the engine try
 * every way of sharing the input among them (`*a*a*a*b` against a long run of `a` takes time
 * growing with a power of its length), and a long pattern can exceed what the engine compiles,
 * which it finds out only at the first match, on a request. The loop remembers only the last star:
 * when the text after it stops matching, that star takes one more character and the text is tried
 * again from there. An earlier star never needs to take more, because the text between two stars
 * has a fixed length and matching it at its first occurrence leaves the most input for the rest.
 * The cost is at most the input's length times the pattern's, with no limit on either.
 */

export interface GlobMatcher {
  /** Whether `input` matches any of the patterns in full. */
  test(input: string): boolean;
}

const STAR = 42; // *
const ANY = 63; // ?

/** A UTF-16 unit with ASCII letters in lower case: all that actions, matched so, are made of. */
function folded(code: number): number {
  return code >= 65 && code <= 90 ? code | 32 : code;
}

function matches(pattern: string, input: string, ignoreCase: boolean): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let resume = 0;
  while (i < input.length) {
    const c = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (c === STAR) {
      // A last star takes whatever is left: the common `vpc:*` and `…/*` end here at once.
      if (p === pattern.length - 1) return true;
      star = p++;
      resume = i;
    } else if (
      c === ANY ||
      (c >= 0 && (ignoreCase ? folded(c) === folded(input.charCodeAt(i)) : c === input.charCodeAt(i)))
    ) {
      p++;
      i++;
    } else if (star >= 0) {
      p = star + 1;
      i = ++resume;
    } else return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

/**
 * One matcher for a list of patterns. `ignoreCase` folds ASCII letters: RAM matches action names
 * without regard to case, and every action name is ASCII.
 */
export function compileGlobs(patterns: readonly string[], ignoreCase: boolean): GlobMatcher {
  const list = [...patterns];
  if (list.includes('*')) return { test: () => true };
  return { test: (input) => list.some((pattern) => matches(pattern, input, ignoreCase)) };
}
