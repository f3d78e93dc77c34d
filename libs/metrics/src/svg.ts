/** A confusion matrix as a self-contained SVG heat map: row-normalised colour, counts and %. */
import type { ClassificationReport } from './types.ts';

export interface SvgOptions {
  title?: string;
  /** Cell size in pixels. */
  cell?: number;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);

/** Colour of a 0..1 value: white to deep blue. */
function shade(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const r = Math.round(247 - t * (247 - 8));
  const g = Math.round(251 - t * (251 - 48));
  const b = Math.round(255 - t * (255 - 107));
  return `rgb(${r},${g},${b})`;
}

export function confusionMatrixSvg(r: ClassificationReport, opts: SvgOptions = {}): string {
  const cell = opts.cell ?? 64;
  const k = r.labels.length;
  const left = 110;
  const top = opts.title ? 84 : 60;
  const right = 150;
  const width = left + k * cell + right;
  const height = top + k * cell + 70;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (opts.title)
    out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(opts.title)}</text>`);
  out.push(`<text x="${left + (k * cell) / 2}" y="${top - 36}" text-anchor="middle" font-size="13">predicted</text>`);
  out.push(`<text transform="translate(18 ${top + (k * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="13">true</text>`);
  r.labels.forEach((l, j) => {
    out.push(`<text x="${left + j * cell + cell / 2}" y="${top - 10}" text-anchor="middle" font-size="12">${esc(l)}</text>`);
  });
  r.confusionMatrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    out.push(`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${esc(r.labels[i])}</text>`);
    row.forEach((count, j) => {
      const frac = total ? count / total : 0;
      const x = left + j * cell;
      const y = top + i * cell;
      const ink = frac > 0.5 ? 'white' : 'black';
      out.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${shade(frac)}" stroke="${i === j ? '#e6550d' : '#ddd'}" stroke-width="${i === j ? 2 : 1}"/>`,
      );
      out.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 - 2}" text-anchor="middle" font-size="13" fill="${ink}">${(100 * frac).toFixed(0)}%</text>`,
      );
      out.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 14}" text-anchor="middle" font-size="10" fill="${ink}">${count}</text>`);
    });
    const m = r.perClass[r.labels[i]];
    out.push(
      `<text x="${left + k * cell + 10}" y="${top + i * cell + cell / 2 + 4}" font-size="11">recall ${(100 * m.recall).toFixed(0)}% · F1 ${(100 * m.f1).toFixed(0)}%</text>`,
    );
  });
  out.push(
    `<text x="${left}" y="${top + k * cell + 28}" font-size="13">accuracy ${(100 * r.accuracy).toFixed(1)}% · macro F1 ${(100 * r.macroF1).toFixed(1)}% · n = ${r.n}</text>`,
  );
  out.push(
    `<text x="${left}" y="${top + k * cell + 48}" font-size="11" fill="#555">cell colour and % are row-normalised (share of each true class); small numbers are counts</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}
