// Fetches one whole response and checks its status, length and sha256 against the expected body (runner process).
// Runs before any measuring, so a server that answers fast with the wrong bytes is reported, never ranked.

import { createHash } from 'node:crypto';
import { request } from 'node:http';

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** expected: {length, sha256}. Resolves {ok, status, length, sha256, problem?}. */
export function verifyOnce(url, expected, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let length = 0;
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.on('data', (chunk) => {
        length += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => {
        const digest = hash.digest('hex');
        const problems = [];
        if (res.statusCode !== 200) problems.push(`status ${res.statusCode}`);
        if (length !== expected.length) problems.push(`${length} bytes, expected ${expected.length}`);
        else if (digest !== expected.sha256) problems.push(`sha256 ${digest.slice(0, 12)}…, expected ${expected.sha256.slice(0, 12)}…`);
        resolve({ ok: problems.length === 0, status: res.statusCode, length, sha256: digest, problem: problems.join(', ') });
      });
      res.on('error', (err) => resolve({ ok: false, problem: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no full response in ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, problem: err.message }));
    req.end();
  });
}
