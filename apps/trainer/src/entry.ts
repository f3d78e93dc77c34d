/** The CLI as a plain module entry (for bundles); bin/emodetect.mjs does the same through tsx. */
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2));
