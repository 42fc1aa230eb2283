// The request handler every node:http baseline shares (main thread of a baseline server process).
//
// Same paths and bodies as the slabserve apps in bench/apps/, so the runner can check identical bytes everywhere:
//   /seed   the seed file: streamed with createReadStream().pipe(res), or sent from memory (the practical ceiling);
//   /hello  a 12-byte text body;
//   /cpu    the calibrated sha256 chain (servers/cpu-work.js);
//   /ssr    the React catalogue page (apps/ssr-page.js), renderToPipeableStream piped into the response.

import { createReadStream, readFileSync, statSync } from 'node:fs';
import { seedFile } from '../../examples/seed-file.js';
import { pipePage } from '../apps/ssr-page.js';
import { burn, cpuRounds } from './cpu-work.js';

export const HELLO = 'hello world\n';

/** seed: 'stream' | 'memory'. */
export function createRoutes({ seed = 'stream' } = {}) {
  const file = seedFile();
  const bytes = seed === 'memory' ? readFileSync(file) : null;
  const size = statSync(file).size;
  const rounds = cpuRounds();
  return (req, res) => {
    switch (req.url) {
      case '/seed':
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        if (bytes !== null) res.end(bytes);
        else createReadStream(file).pipe(res);
        return;
      case '/hello':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
        res.end(HELLO);
        return;
      case '/cpu': {
        const body = burn(rounds);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
        res.end(body);
        return;
      }
      case '/ssr':
        pipePage(res);
        return;
      default:
        res.writeHead(404).end();
    }
  };
}
