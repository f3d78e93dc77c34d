import { describe, expect, it } from 'vitest';
import { resumeArgs } from './train.ts';

describe('the command that continues an interrupted run', () => {
  it('keeps the options, adds --resume once, and drops --init (the two exclude each other)', () => {
    expect(resumeArgs(['--data', 'f.csv.gz', '--init', 'models/fer-small', '--epochs', '14', '--out', 'runs/x'])).toEqual([
      '--data',
      'f.csv.gz',
      '--epochs',
      '14',
      '--out',
      'runs/x',
      '--resume',
    ]);
    expect(resumeArgs(['--init=models/a', '--resume', '--seed', '7'])).toEqual(['--seed', '7', '--resume']);
  });
});
