/**
 * Percent-encoding as the Alibaba Cloud signatures use it (spec protocol.md 5.1): UTF-8 bytes,
 * unreserved `A-Z a-z 0-9 - _ . ~` kept, everything else `%XY` upper-case. Decoding treats `+` as
 * a space because Go's url.Values (aliyun CLI, Terraform) encodes spaces that way.
 */

const EXTRA = /[!'()*]/g;

export function pct(s: string): string {
  return encodeURIComponent(s).replace(EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Thrown by decodeComponent for broken escapes or bytes that are not UTF-8. */
export class DecodeError extends Error {}

export function decodeComponent(raw: string): string {
  const s = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // decodeURIComponent rejects malformed escapes and escapes that spell no UTF-8 (the text
    // around them is already valid); say which.
    throw new DecodeError(/%(?![0-9A-Fa-f]{2})/.test(s) ? 'malformed percent-encoding' : 'not UTF-8');
  }
}

/** Thrown by parsePairs when the text holds more pairs than it may. */
export class TooManyPairs extends Error {}

/**
 * Splits `a=1&b=2` into decoded pairs, keeping order and empty values. Stops at the first pair
 * past `maxPairs`, before decoding it: a hostile text of a million pairs costs no more than a
 * normal one.
 */
export function parsePairs(raw: string, maxPairs = Number.POSITIVE_INFINITY): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let start = 0; start < raw.length; ) {
    const amp = raw.indexOf('&', start);
    const end = amp < 0 ? raw.length : amp;
    const part = raw.slice(start, end);
    start = end + 1;
    if (part === '') continue;
    if (out.length >= maxPairs) throw new TooManyPairs();
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    // No client sends `=value`; naming "" in an InvalidParameter message would help nobody.
    if (k === '') throw new DecodeError('empty parameter name');
    out.push([decodeComponent(k), decodeComponent(v)]);
  }
  return out;
}
