/**
 * Merge `bench:robust` JSON files measured in separate runs on the same faces (results are
 * deterministic: the same model gives the same answers in any run), e.g. the anchors measured
 * once and a new model later, or one row measured again. For each face set, a model's cell in a
 * row comes from the last file that has that model and that row. Prints Markdown; writes JSON.
 *
 *   node --import tsx apps/bench/src/robust-merge.ts a.json b.json [...] --out runs/bench-robust.json
 */
import { promises as fs } from 'node:fs';
import { parseArgs } from 'node:util';
import { PERTURBATIONS, robustMarkdown, robustSummary, type RobustCell, type RobustResult } from './robust.ts';

interface RobustFile {
  command: string;
  machine: string;
  date: string;
  results: RobustResult[];
}

/** Merge results of the same face sets; later results win for a model's row. */
export function mergeRobust(files: readonly RobustResult[][]): RobustResult[] {
  const sets = new Map<string, RobustResult[]>();
  for (const f of files) for (const r of f) sets.set(r.set, [...(sets.get(r.set) ?? []), r]);
  return [...sets.entries()].map(([set, parts]) => {
    const n = parts[0].n;
    const bad = parts.find((p) => p.n !== n);
    if (bad) throw new Error(`robust-merge: ${set} has ${n} faces in one file and ${bad.n} in another`);
    const models = [...new Set(parts.flatMap((p) => p.models))];
    const rows = PERTURBATIONS.flatMap((pert) => {
      const cells = models.map((m) => {
        let cell: RobustCell | undefined;
        for (const p of parts) {
          const row = p.rows.find((r) => r.perturbation === pert.name);
          const i = p.models.indexOf(m);
          if (row && i >= 0) cell = row.cells[i];
        }
        return cell;
      });
      if (cells.some((c) => !c)) return [];
      return [{ perturbation: pert.name, group: pert.group, cells: cells as RobustCell[] }];
    });
    return { set, n, models, rows };
  });
}

const isMain = process.argv[1]?.endsWith('robust-merge.ts');
if (isMain) {
  const { values: v, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  const files = await Promise.all(positionals.map(async (f) => JSON.parse(await fs.readFile(f, 'utf8')) as RobustFile));
  const results = mergeRobust(files.map((f) => f.results));
  const commands = files.map((f) => f.command);
  let md = `Merged from ${files.length} runs of the same faces: ${commands.map((c) => `\`${c}\``).join(', ')}.\n\n`;
  for (const r of results) {
    md += `${robustMarkdown(r)}\n`;
    const anchors = r.models.map((m, i) => (m.startsWith('emodetect') ? -1 : i)).filter((i) => i >= 0);
    for (let a = 0; a < r.models.length; a++) {
      if (!r.models[a].startsWith('emodetect')) continue;
      const s = robustSummary(r, a, anchors);
      md += `${r.models[a]}: ahead of both anchors on ${s.ahead} of ${s.rows} rows; drop from clean no larger than theirs on ${s.dropNoWorse.length} of ${s.rows - 1}${s.dropWorse.length ? ` (larger on: ${s.dropWorse.join(', ')})` : ''}.\n`;
    }
    md += '\n';
  }
  console.log(md);
  if (v.out)
    await fs.writeFile(
      v.out,
      JSON.stringify({ command: commands.join(' + '), machine: files[0].machine, date: new Date().toISOString(), results }, null, 2),
    );
}
