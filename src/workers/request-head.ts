// A request head as the worker reads it from its inbox's arena, and the URL it stands for (worker thread).

import { SlabserveError } from '../errors.js';
import { decodeHead, REQUEST_HAS_BODY, REQUEST_HEAD_FIXED } from '../protocol.js';

export interface RequestHead {
  method: string;
  url: string;
  version: string;
  remote: string;
  hasBody: boolean;
  /** Name/value pairs as they arrived. */
  raw: string[];
}

/** Reads a head text main wrote (see encodeRequestHead). */
export function parseRequestHead(text: string): RequestHead {
  const strings = decodeHead(text);
  if (strings.length < REQUEST_HEAD_FIXED) throw new SlabserveError('ERR_BAD_REQUEST', 'short request head');
  return {
    method: strings[0]!,
    url: strings[1]!,
    version: strings[2]!,
    remote: strings[3]!,
    hasBody: (Number(strings[4]) & REQUEST_HAS_BODY) !== 0,
    raw: strings.slice(REQUEST_HEAD_FIXED),
  };
}

function hostOf(raw: string[]): string {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') return raw[i + 1]!;
  return 'localhost';
}

/** The absolute URL of the request: origin-form targets are resolved against the Host header (RFC 9112 §3.3). */
export function requestUrl(head: RequestHead): string {
  if (head.url.startsWith('/')) return `http://${hostOf(head.raw)}${head.url}`;
  if (head.url === '*') return `http://${hostOf(head.raw)}/*`;
  return head.url;
}
