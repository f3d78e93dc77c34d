#!/usr/bin/env node
// `npm start`: build the demo when it is out of date (nx caches the build), then serve it on
// 127.0.0.1:3000. Ctrl-C or SIGTERM stops the server and exits 0, quietly: stopping a server is
// not a failure (through nx, `next start` killed by a signal was reported as "npm error code 143").
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const demo = path.join(root, 'apps/demo');
const build = spawnSync('npx', ['nx', 'run', 'demo:build', '--output-style=stream'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const next = path.join(root, 'node_modules/next/dist/bin/next');
const server = spawn(process.execPath, [next, 'start', '--hostname', '127.0.0.1', ...process.argv.slice(2)], {
  cwd: demo,
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
    server.kill('SIGTERM');
  });
}
server.on('exit', (code) => {
  if (stopping) process.stderr.write('demo: stopped\n');
  process.exit(stopping ? 0 : (code ?? 1));
});
