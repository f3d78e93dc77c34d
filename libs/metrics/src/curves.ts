/** Training curves as a self-contained SVG: loss and accuracy per epoch, training vs validation. */

export interface CurvePoint {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  trainAccuracy: number;
  valAccuracy: number;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

interface Panel {
  title: string;
  series: { name: string; color: string; values: number[] }[];
  format: (v: number) => string;
  /** Mark the best (max) point of the last series. */
  markMax?: boolean;
}

function panel(p: Panel, epochs: number[], x0: number, y0: number, w: number, h: number): string {
  const all = p.series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const first = epochs[0];
  const last = epochs[epochs.length - 1];
  const sx = (e: number) => x0 + (last === first ? w / 2 : ((e - first) / (last - first)) * w);
  const sy = (v: number) => y0 + h - ((v - lo) / (hi - lo)) * h;
  const out: string[] = [];
  out.push(`<text x="${x0}" y="${y0 - 10}" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = sy(v);
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" font-size="10" text-anchor="end" fill="#555">${p.format(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs.length / 10));
  epochs.forEach((e, i) => {
    if (i % step === 0 || i === epochs.length - 1) {
      out.push(`<text x="${sx(e)}" y="${y0 + h + 14}" font-size="10" text-anchor="middle" fill="#555">${e}</text>`);
    }
  });
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 30}" font-size="11" text-anchor="middle">epoch</text>`);
  p.series.forEach((s, si) => {
    const pts = s.values.map((v, i) => `${sx(epochs[i]).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => out.push(`<circle cx="${sx(epochs[i]).toFixed(1)}" cy="${sy(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`));
    out.push(`<rect x="${x0 + 10 + si * 110}" y="${y0 + 8}" width="12" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${x0 + 26 + si * 110}" y="${y0 + 13}" font-size="11">${esc(s.name)}</text>`);
  });
  if (p.markMax) {
    const s = p.series[p.series.length - 1];
    const best = s.values.reduce((b, v, i) => (v > s.values[b] ? i : b), 0);
    const x = sx(epochs[best]);
    const y = sy(s.values[best]);
    out.push(`<circle cx="${x}" cy="${y}" r="6" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    out.push(
      `<text x="${x}" y="${y - 10}" font-size="11" text-anchor="middle" fill="${s.color}">best ${p.format(s.values[best])} (epoch ${epochs[best]})</text>`,
    );
  }
  return out.join('\n');
}

/** Loss (left) and accuracy (right) per epoch; the best validation accuracy is circled. */
export function trainingCurvesSvg(history: readonly CurvePoint[], title = 'Training'): string {
  if (history.length === 0) throw new Error('trainingCurvesSvg: no epochs');
  const epochs = history.map((h) => h.epoch);
  const w = 340;
  const h = 220;
  const width = 2 * w + 160;
  const height = h + 110;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" font-size="15" font-weight="bold" text-anchor="middle">${esc(title)}</text>`,
    panel(
      {
        title: 'loss (cross-entropy)',
        format: (v) => v.toFixed(2),
        series: [
          { name: 'training', color: '#3182bd', values: history.map((p) => p.trainLoss) },
          { name: 'validation', color: '#e6550d', values: history.map((p) => p.valLoss) },
        ],
      },
      epochs,
      60,
      60,
      w,
      h,
    ),
    panel(
      {
        title: 'accuracy',
        format: (v) => `${(100 * v).toFixed(1)}%`,
        markMax: true,
        series: [
          { name: 'training', color: '#3182bd', values: history.map((p) => p.trainAccuracy) },
          { name: 'validation', color: '#e6550d', values: history.map((p) => p.valAccuracy) },
        ],
      },
      epochs,
      w + 120,
      60,
      w,
      h,
    ),
    '</svg>',
  ];
  return out.join('\n');
}
