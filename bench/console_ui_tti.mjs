// Time to interactive of the embedded web console on loopback: a fresh page load of
// /login until its password field is focusable (app JS ran, /system/config answered),
// in Debian's chromium. Prints the median and p90 of N loads.
// Usage: GANTRY_BIN=... node bench/console_ui_tti.mjs [N]   (run via bench/console_ui.sh)
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.cwd(), 'tests/console_ui/package.json'));
const { chromium } = require('playwright-core');
const N = Number(process.argv[2] || 20);
const work = mkdtempSync(join(tmpdir(), 'gantry-tti-'));
mkdirSync(join(work, 'config'));
const port = await new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const httpPort = await new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const gantry = spawn(process.env.GANTRY_BIN, ['serve', '--config', join(work, 'config'), '--http-port', String(httpPort), '--https-port', '0', '--console-port', String(port), '--bind', '127.0.0.1', '--console-bind', '127.0.0.1', '--console-password', 'bench-pass', '--data-dir', join(work, 'data')], { stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const context = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? (await context.newPage());
const times = [];
for (let i = 0; i < N + 1; i++) {
  await context.clearCookies();
  const t0 = Date.now();
  await page.goto(`${url}/login`, { waitUntil: 'commit' });
  await page.locator('input[type=password]:focus').waitFor();
  if (i > 0) times.push(Date.now() - t0); // first load warms chromium
}
await context.close();
gantry.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(`time to interactive (/login, ${N} loads, cache on): median ${q(0.5)} ms, p90 ${q(0.9)} ms, min ${times[0]} ms`);
