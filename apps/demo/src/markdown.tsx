/**
 * A small Markdown renderer for the model card (headings, paragraphs, lists, tables, code blocks,
 * images, bold, italics, inline code, links): enough for the cards tools/model-card.ts writes, with no dependency.
 */
import type { ReactNode } from 'react';

function inline(text: string, key: string, resolve: (src: string) => string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /(\*\*[^*]+\*\*|`[^`]+`|!\[[^\]]*\]\([^)]+\)|\[[^\]]+\]\([^)]+\)|\*[^*]+\*)/g;
  let last = 0;
  let m: RegExpExecArray | null;
  let i = 0;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    const k = `${key}-${i++}`;
    if (t.startsWith('**')) out.push(<strong key={k}>{t.slice(2, -2)}</strong>);
    else if (t.startsWith('`')) out.push(<code key={k}>{t.slice(1, -1)}</code>);
    else if (t.startsWith('![')) {
      const [, alt, src] = /!\[([^\]]*)\]\(([^)]+)\)/.exec(t) ?? [];
      out.push(<img key={k} alt={alt} src={resolve(src ?? '')} />);
    } else if (t.startsWith('[')) {
      const [, label, href] = /\[([^\]]+)\]\(([^)]+)\)/.exec(t) ?? [];
      out.push(
        href?.startsWith('#') ? (
          <span key={k}>{label}</span>
        ) : (
          <a key={k} href={resolve(href ?? '')}>
            {label}
          </a>
        ),
      );
    } else out.push(<em key={k}>{t.slice(1, -1)}</em>);
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (row: string) =>
  row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());

/** Render `md`; relative links and image sources go through `resolve`. */
export function Markdown({ md, resolve = (s) => s }: { md: string; resolve?: (src: string) => string }) {
  const lines = md.split('\n');
  const blocks: ReactNode[] = [];
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    const key = `b${i}`;
    const h = /^(#{1,4})\s+(.*)$/.exec(line);
    if (line.startsWith('```')) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      blocks.push(
        <pre key={key}>
          <code>{code.join('\n')}</code>
        </pre>,
      );
    } else if (h) {
      const level = Math.min(4, h[1].length + 1);
      const content = inline(h[2], key, resolve);
      blocks.push(level === 2 ? <h2 key={key}>{content}</h2> : level === 3 ? <h3 key={key}>{content}</h3> : <h4 key={key}>{content}</h4>);
      i++;
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i].startsWith('|')) {
        if (!/^\|[\s:|-]+\|$/.test(lines[i].trim())) rows.push(cells(lines[i]));
        i++;
      }
      const [head, ...body] = rows;
      blocks.push(
        <table key={key}>
          <thead>
            <tr>
              {head?.map((c, j) => (
                <th key={j}>{inline(c, `${key}h${j}`, resolve)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {body.map((r, k) => (
              <tr key={k}>
                {r.map((c, j) => (
                  <td key={j}>{inline(c, `${key}r${k}c${j}`, resolve)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>,
      );
    } else if (/^\s*[-*]\s/.test(line)) {
      const items: string[] = [];
      while (i < lines.length && lines[i].trim() !== '' && !lines[i].startsWith('#') && !lines[i].startsWith('|')) {
        if (/^\s*[-*]\s/.test(lines[i])) items.push(lines[i].replace(/^\s*[-*]\s/, ''));
        else items[items.length - 1] += ` ${lines[i].trim()}`;
        i++;
      }
      blocks.push(
        <ul key={key}>
          {items.map((it, j) => (
            <li key={j}>{inline(it, `${key}l${j}`, resolve)}</li>
          ))}
        </ul>,
      );
    } else if (line.trim() === '') i++;
    else {
      const para: string[] = [];
      while (i < lines.length && lines[i].trim() !== '' && !/^(#|\||\s*[-*]\s|```)/.test(lines[i])) para.push(lines[i++].trim());
      blocks.push(<p key={key}>{inline(para.join(' '), key, resolve)}</p>);
    }
  }
  return <>{blocks}</>;
}
