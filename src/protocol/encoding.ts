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

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function decodeComponent(raw: string): string {
  const s = raw.includes('+') ? raw.replace(/\+/g, ' ') : raw;
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // decodeURIComponent rejects both malformed escapes and invalid UTF-8; say which.
    if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new DecodeError('malformed percent-encoding');
    const bytes: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '%') {
        bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(...Buffer.from(s[i] ?? '', 'utf8'));
    }
    try {
      return UTF8.decode(Uint8Array.from(bytes));
    } catch {
      throw new DecodeError('not UTF-8');
    }
  }
}

/** Splits `a=1&b=2` into decoded pairs, keeping order and empty values. */
export function parsePairs(raw: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    // No client sends `=value`; naming "" in an InvalidParameter message would help nobody.
    if (k === '') throw new DecodeError('empty parameter name');
    out.push([decodeComponent(k), decodeComponent(v)]);
  }
  return out;
}
