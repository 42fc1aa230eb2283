// The ssr scenario's page: a React product catalogue of about 140 KB, the same for every server (any thread).
//
// Written with createElement, so the bench needs no JSX build. Deterministic: every render gives the same bytes, so
// the runner checks each server's answer by sha256 like any other body.

import { createElement as h } from 'react';
import { PassThrough } from 'node:stream';
import { renderToPipeableStream } from 'react-dom/server';

/** Rows in the catalogue: about 140 KB of HTML (React adds an image preload per row to the head). */
export const PAGE_ROWS = 375;

function price(i) {
  return `${(i * 7919) % 1000}.${String((i * 31) % 100).padStart(2, '0')}`;
}

function Product({ i }) {
  return h(
    'li',
    { className: 'product', 'data-sku': `sku-${i}` },
    h('a', { href: `/products/${i}` }, h('img', { src: `/img/${i}.webp`, alt: `Product ${i}`, width: 96, height: 96 })),
    h('h3', null, `Product ${i}: a fine thing of kind ${i % 17}`),
    h('p', { className: 'price' }, `${price(i)} EUR`),
    h('p', { className: 'stock' }, i % 5 === 0 ? 'Back soon' : `${(i * 13) % 40} in stock`),
    h('button', { type: 'button', 'aria-label': `Add product ${i} to the basket` }, 'Add'),
  );
}

export function Page({ rows = PAGE_ROWS }) {
  const items = [];
  for (let i = 0; i < rows; i++) items.push(h(Product, { key: i, i }));
  return h(
    'html',
    { lang: 'en' },
    h('head', null, h('meta', { charSet: 'utf-8' }), h('title', null, 'Catalogue')),
    h('body', null, h('header', null, h('h1', null, 'Catalogue')), h('main', null, h('ul', { className: 'grid' }, items))),
  );
}

export const page = () => h(Page, null);

/**
 * Renders the page into `response` (node:http's, or slabserve's native one): head and pipe once the shell is ready,
 * a destroyed response (500, or a cut connection) if it fails.
 */
export function pipePage(response) {
  const stream = renderToPipeableStream(page(), {
    onShellReady() {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      stream.pipe(response);
    },
    onShellError(err) {
      response.destroy(err);
    },
  });
}

/** Renders the page to bytes the way every Node-stream server here does (the runner's expected body). */
export function renderPageBytes() {
  return new Promise((resolve, reject) => {
    const sink = new PassThrough();
    const parts = [];
    sink.on('data', (chunk) => parts.push(chunk));
    sink.on('end', () => resolve(Buffer.concat(parts)));
    const stream = renderToPipeableStream(page(), { onShellReady: () => stream.pipe(sink), onShellError: reject });
  });
}
