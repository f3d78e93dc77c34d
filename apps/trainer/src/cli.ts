/** The `emodetect` command line: one verb per life-cycle step. */
import { readFileSync } from 'node:fs';
import { detectCommand, DETECT_HELP } from './detect.ts';
import { evalCommand, EVAL_HELP } from './eval.ts';
import { exportCommand, EXPORT_HELP } from './export.ts';
import { formatError } from './errors.ts';
import { trainCommand, TRAIN_HELP } from './train.ts';

/** The CLI package's version (apps/trainer/package.json). */
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HELP = `emodetect: facial-expression emotion recognition (FER2013, 7 classes)

Usage: emodetect <command> [options]
       emodetect --version

Commands:
  train    train a CNN on FER2013 (CSV / CSV.gz) or an image folder
  eval     evaluate a model folder on a dataset split (accuracy, per-class F1, confusion matrix)
  detect   find faces in images, folders and videos and classify their emotions
  export   write a model folder with quantised (uint8 or float16) weights

Run "emodetect <command> --help" for the options of a command.`;

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  train: { run: trainCommand, help: TRAIN_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  detect: { run: detectCommand, help: DETECT_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
};

/** Run the CLI; resolves to the exit status. Never throws: errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const fail = (e: unknown) => {
    process.stderr.write(`\nemodetect: ${formatError(e)}\n`);
    process.exit(1);
  };
  // tfjs-backend-wasm installs handlers that re-throw with its whole minified source; ours print one line.
  // A closed pipe (`emodetect detect ... | head`) ends the output, not with an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    fail(e);
  });
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`emodetect ${VERSION}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  // No command is a usage error: the help goes to stderr, so that stdout stays empty.
  if (!name) {
    process.stderr.write(HELP + '\n');
    return 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`emodetect: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    process.stderr.write(`emodetect: ${formatError(e)}\n`);
    return e instanceof Error && e.name === 'UsageError' ? 2 : 1;
  }
}
