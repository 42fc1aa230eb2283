// The error catalogue stays consistent with the code that raises the errors and the README that documents them.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SlabserveError } from '../src/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the error catalogue', () => {
  const codes = Object.keys(ErrorCodes);
  const code = sources(join(root, 'src'))
    .filter((f) => !f.endsWith('errors.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it.each(codes)('uses %s somewhere in src/ and documents it in the README error table', (c) => {
    expect(code).toContain(`'${c}'`);
    expect(readme).toMatch(new RegExp(`^\\| \`${c}\` \\|`, 'm'));
  });

  it('makes errors whose code, name and default message come from the catalogue', () => {
    for (const c of codes) {
      const err = new SlabserveError(c as keyof typeof ErrorCodes);
      expect(err.code).toBe(c);
      expect(err.name).toBe('SlabserveError');
      expect(err.message).toBe(ErrorCodes[c as keyof typeof ErrorCodes]);
    }
  });
});
