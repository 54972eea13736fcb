/**
 * Response envelopes (spec protocol.md section 7). JSON by default; the XML forms only when a
 * request asks for Format=XML. Plain arrays repeat their element name in XML; wrapped arrays
 * (Regions.Region) keep the wrapper because the wrapper is an object in the JSON shape already.
 */
import type { ApiError } from './api-error.js';

export type ResponseFormat = 'JSON' | 'XML';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json;charset=utf-8';
const XML_TYPE = 'text/xml;charset=utf-8';

export function errorBody(err: ApiError, requestId: string, hostId: string): Record<string, unknown> {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: err.code,
    Message: err.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=Vpc&requestId=${requestId}`,
    ...err.extra,
  };
}

/** Characters XML 1.0 cannot carry at all, not even as a character reference. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/**
 * A name, description or tag may hold control characters (JSON answers carry them escaped); in an
 * XML answer each becomes U+FFFD, or no XML parser could read the answer at all.
 */
function escapeXml(s: string): string {
  return s
    .replace(/[<>&'"]/g, (c) =>
      c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&apos;' : '&quot;',
    )
    .replace(NOT_XML, '\uFFFD');
}

function xmlValue(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => xmlValue(name, v)).join('');
  if (typeof value === 'object') {
    let inner = '';
    for (const [k, v] of Object.entries(value)) inner += xmlValue(k, v);
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function toXml(root: string, body: Record<string, unknown>): string {
  let inner = '';
  for (const [k, v] of Object.entries(body)) {
    inner +=
      k === 'Recommend' && typeof v === 'string' ? `<Recommend><![CDATA[${v}]]></Recommend>` : xmlValue(k, v);
  }
  return `<?xml version='1.0' encoding='UTF-8'?><${root}>${inner}</${root}>`;
}

export function successResponse(
  action: string,
  body: Record<string, unknown>,
  format: ResponseFormat,
  requestId: string,
): WireResponse {
  const xml = format === 'XML';
  return {
    status: 200,
    headers: headersOf(requestId, xml),
    body: xml ? toXml(`${action}Response`, body) : JSON.stringify(body),
  };
}

/** A literal per answer: every request pays for these headers, and a spread copy costs a microsecond. */
function headersOf(requestId: string, xml: boolean): Record<string, string> {
  return { 'x-acs-request-id': requestId, 'content-type': xml ? XML_TYPE : JSON_TYPE };
}

export function errorResponse(
  err: ApiError,
  format: ResponseFormat,
  requestId: string,
  hostId: string,
): WireResponse {
  const body = errorBody(err, requestId, hostId);
  const xml = format === 'XML';
  return {
    status: err.httpStatus,
    headers: headersOf(requestId, xml),
    body: xml ? toXml('Error', body) : JSON.stringify(body),
  };
}
