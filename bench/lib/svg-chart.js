// Draws the slab-sweep chart by hand: req/s against slab size, the baselines as horizontal lines, and the seed's 2007
// table as a faint series, so the picture reads like the seed's table (runner process; no chart library).

const W = 800;
const H = 460;
const M = { left: 64, right: 230, top: 58, bottom: 58 };
const COLORS = ['#e4572e', '#29a745', '#7b5ea7', '#8c564b', '#17becf', '#bcbd22'];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const kib = (bytes) => `${bytes / 1024} KiB`;

function niceMax(v) {
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

/** Spreads label y positions so that no two are closer than `gap`, keeping their order. */
function spread(ys, gap) {
  const order = ys.map((y, i) => [y, i]).sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < order.length; k++) order[k][0] = Math.max(order[k][0], order[k - 1][0] + gap);
  const out = [];
  for (const [y, i] of order) out[i] = y;
  return out;
}

/**
 * sweep: [{size, rps, min, max}] (bytes, req/s); baselines: [{label, rps}]; seed2007: {modWsgi: {size: rps}, nginx};
 * title, subtitle: text. Returns the SVG document.
 */
export function slabSweepSvg({ sweep, baselines, seed2007, title, subtitle }) {
  const sizes = sweep.map((s) => s.size);
  const lo = Math.log2(Math.min(...sizes, 4096));
  const hi = Math.log2(Math.max(...sizes, 262144));
  const all = [...sweep.map((s) => s.max), ...baselines.map((b) => b.rps), ...Object.values(seed2007.modWsgi), seed2007.nginx];
  const yMax = niceMax(Math.max(...all.filter(Number.isFinite)) * 1.08);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (size) => M.left + ((Math.log2(size) - lo) / (hi - lo)) * pw;
  const y = (v) => M.top + ph - (v / yMax) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${M.left}" y="42" fill="#555">${esc(subtitle)}</text>`);

  for (let k = 0; k <= 5; k++) {
    const v = (yMax / 5) * k;
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#444">${Math.round(v)}</text>`);
  }
  for (const size of sizes) {
    out.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(size)}" y="${M.top + ph + 18}" text-anchor="middle" fill="#444">${kib(size)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 16}" text-anchor="middle" fill="#222">slab (buffer) size, log scale</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#222">requests per second</text>`);

  const labels = [];
  // The 2007 figures: other hardware, other software; a faint reference only.
  const old = Object.entries(seed2007.modWsgi).map(([s, v]) => [Number(s), v]);
  out.push(`<polyline fill="none" stroke="#bbb" stroke-width="1.5" stroke-dasharray="2 3" points="${old.map(([s, v]) => `${x(s)},${y(v)}`).join(' ')}"/>`);
  for (const [s, v] of old) out.push(`<circle cx="${x(s)}" cy="${y(v)}" r="3" fill="#fff" stroke="#bbb"/>`);
  labels.push({ y: y(old.at(-1)[1]), text: '2007 mod_wsgi (seed; other hw)', color: '#999' });
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(seed2007.nginx)}" y2="${y(seed2007.nginx)}" stroke="#bbb" stroke-dasharray="2 3"/>`);
  labels.push({ y: y(seed2007.nginx), text: '2007 nginx (seed; other hw)', color: '#999' });

  baselines.forEach((b, i) => {
    const color = COLORS[i % COLORS.length];
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(b.rps)}" y2="${y(b.rps)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="7 4"/>`);
    labels.push({ y: y(b.rps), text: `${b.label} ${Math.round(b.rps)}`, color });
  });

  const blue = '#1f5fbf';
  for (const s of sweep) {
    out.push(`<line x1="${x(s.size)}" x2="${x(s.size)}" y1="${y(s.min)}" y2="${y(s.max)}" stroke="${blue}" stroke-opacity="0.45" stroke-width="2"/>`);
  }
  out.push(`<polyline fill="none" stroke="${blue}" stroke-width="2.5" points="${sweep.map((s) => `${x(s.size)},${y(s.rps)}`).join(' ')}"/>`);
  sweep.forEach((s, i) => {
    out.push(`<circle cx="${x(s.size)}" cy="${y(s.rps)}" r="4" fill="${blue}"/>`);
    // The last value sits left of its point, clear of the labels in the right margin.
    const last = i === sweep.length - 1;
    const at = last ? `x="${x(s.size) - 7}" y="${y(s.rps) - 8}" text-anchor="end"` : `x="${x(s.size)}" y="${y(s.max) - 8}" text-anchor="middle"`;
    out.push(`<text ${at} fill="${blue}" font-size="11">${Math.round(s.rps)}</text>`);
  });
  labels.push({ y: y(sweep.at(-1).rps), text: 'slabserve (median, min–max)', color: blue, bold: true });

  const ys = spread(labels.map((l) => l.y + 4), 14);
  labels.forEach((l, i) => {
    out.push(`<text x="${M.left + pw + 8}" y="${ys[i]}" fill="${l.color}"${l.bold ? ' font-weight="bold"' : ''}>${esc(l.text)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
