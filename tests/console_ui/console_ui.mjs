// Browser test of Gantry's built-in web console, in Debian's chromium via playwright-core.
// Starts a real backend and the real `gantry serve` on loopback (free ports, temp config
// dir), then: first run (set password) → log out → log in → a bad route shows its error
// inline → create a service source, a domain and a route → a request through the gateway
// reaches the backend → the live route table shows the route → a broken file on disk shows
// in the rejected resources → a stale edit shows the conflict → password change → narrow
// dark layout. A screenshot of each page
// goes to $GANTRY_UI_OUT (default: a new temp dir, printed at the end).
//
// Usage: GANTRY_BIN=target/debug/gantry node tests/console_ui/console_ui.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.GANTRY_BIN;
if (!BIN) throw new Error('set GANTRY_BIN to the gantry binary');
const OUT = process.env.GANTRY_UI_OUT || mkdtempSync(join(tmpdir(), 'gantry-ui-shots-'));
mkdirSync(OUT, { recursive: true });
const DEADLINE_MS = 15000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Retries `f` until it returns a truthy value or the deadline passes. */
async function eventually(what, f) {
  const end = Date.now() + DEADLINE_MS;
  let last;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** GET through the gateway with a Host header; resolves {status, body}. */
const viaGateway = (port, host, path, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });

const work = mkdtempSync(join(tmpdir(), 'gantry-ui-'));
const config = join(work, 'config');
mkdirSync(config);
const profile = join(work, 'chromium-profile');

// A real backend on loopback.
const backend = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from the backend: ${req.url}`);
});
await new Promise((r) => backend.listen(0, '127.0.0.1', r));
const backendPort = backend.address().port;

const httpPort = await freePort();
const consolePort = await freePort();
const gantry = spawn(
  BIN,
  ['serve', '--config', config, '--http-port', String(httpPort), '--https-port', '0', '--console-port', String(consolePort), '--bind', '127.0.0.1', '--console-bind', '127.0.0.1', '--data-dir', join(work, 'data'), '--watch', 'auto'],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let gantryLog = '';
gantry.stdout.on('data', (c) => (gantryLog += c));
gantry.stderr.on('data', (c) => (gantryLog += c));
const consoleUrl = `http://127.0.0.1:${consolePort}`;

let browser;
let failed = false;
let step = 0;
const shot = async (page, name) => {
  step += 1;
  await page.screenshot({ path: join(OUT, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
};
const check = (cond, what) => {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
};

try {
  await eventually('the console API', async () => (await fetch(`${consoleUrl}/healthz`)).ok);
  // A fresh profile (--user-data-dir) per run; playwright passes it to chromium.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 800 },
  });
  browser = context;
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(DEADLINE_MS);

  // First run: the console sends us to /init; set the password.
  await page.goto(`${consoleUrl}/routes`);
  await page.waitForURL('**/init');
  await page.getByRole('heading', { name: 'Set up Gantry' }).waitFor();
  await shot(page, 'first-run');
  await page.getByLabel('Password', { exact: true }).fill('s3cret-pass');
  await page.getByLabel('Repeat password').fill('s3cret-pass');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/live');
  await page.getByRole('heading', { name: 'Live' }).waitFor();
  check(true, 'first run sets the password and logs in');

  // Log out, then log in (a wrong password first, shown inline).
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/login');
  await page.getByRole('heading', { name: 'Log in to Gantry' }).waitFor();
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('incorrect user name or password').waitFor();
  await shot(page, 'login-error');
  await page.getByLabel('Password').fill('s3cret-pass');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/live');
  check(true, 'logout, a wrong password shows inline, login works from the keyboard');

  // A service source for the backend (static addresses).
  await page.getByRole('link', { name: 'Service sources' }).click();
  // Each page has a `Name` field: wait for the new page before filling, or the fill can
  // land in the page being left.
  await page.getByRole('button', { name: 'Add service source' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('backend');
  await page.getByLabel('Type').selectOption('static');
  await page.getByLabel('Domain / addresses').fill(`127.0.0.1:${backendPort}`);
  await page.getByRole('button', { name: 'Add service source' }).click();
  await page.getByRole('cell', { name: `127.0.0.1:${backendPort}` }).waitFor();
  await shot(page, 'service-sources');

  // A domain.
  await page.getByRole('link', { name: 'Domains' }).click();
  await page.getByRole('button', { name: 'Add domain' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('app.test');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('cell', { name: 'app.test', exact: true }).waitFor();
  await shot(page, 'domains');
  check(true, 'service source and domain created');

  // A route: first with an empty path, which the API rejects; the error shows by the field.
  await page.getByRole('link', { name: 'Routes', exact: true }).click();
  await page.getByRole('link', { name: 'New route' }).click();
  await page.getByRole('button', { name: 'Create route' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('hello');
  await page.getByLabel('app.test').check();
  await page.getByLabel('Path', { exact: true }).fill('');
  await page.locator('[data-k=name]').fill('backend.static');
  await page.locator('[data-k=port]').fill('80');
  await page.locator('[data-k=weight]').fill('100');
  await page.getByRole('button', { name: 'Add header match' }).click();
  await page.getByLabel('Header 1 name').fill('x-team');
  await page.locator('[data-kind=headers] [data-k=matchValue]').fill('blue');
  await page.getByRole('button', { name: 'Create route' }).click();
  const pathErr = page.locator('[data-error-for="path.matchValue"]');
  await eventually('the inline path error', async () => (await pathErr.textContent())?.includes('path.matchValue'));
  check((await page.getByLabel('Path', { exact: true }).getAttribute('aria-invalid')) === 'true', 'a 400 shows inline next to the path field');
  await shot(page, 'route-inline-error');
  await page.getByLabel('Path', { exact: true }).fill('/');
  await page.getByRole('button', { name: 'Create route' }).click();
  await page.waitForURL('**/routes');
  await page.getByRole('link', { name: 'hello' }).waitFor();
  await shot(page, 'routes');

  // A request through the gateway reaches the backend.
  const resp = await eventually('the route to serve', async () => {
    const r = await viaGateway(httpPort, 'app.test', '/greeting', { 'x-team': 'blue' });
    return r.status === 200 ? r : null;
  });
  check(resp.body === 'hello from the backend: /greeting', `the gateway serves the new route (${resp.body})`);
  const unmatched = await viaGateway(httpPort, 'app.test', '/greeting', { 'x-team': 'red' });
  check(unmatched.status === 404, `the route's header match applies (x-team: red → ${unmatched.status})`);

  // The live view shows the compiled route.
  await page.getByRole('link', { name: 'Live' }).click();
  const table = page.getByRole('region', { name: 'Route table, in match order' });
  await table.getByRole('cell', { name: 'app.test' }).waitFor();
  check((await table.textContent()).includes('backend.static'), 'the live route table shows the route and its upstream');
  await shot(page, 'live-route-table');

  // A broken file on disk shows in the rejected resources, with its file and field.
  mkdirSync(join(config, 'ingresses'), { recursive: true });
  writeFileSync(
    join(config, 'ingresses', 'broken.yaml'),
    ['apiVersion: networking.k8s.io/v1', 'kind: Ingress', 'metadata:', '  name: broken', '  namespace: higress-system', 'spec:', '  rules:', '  - host: "bad host!"', '    http:', '      paths:', '      - path: /x', '        pathType: Prefix', '        backend:', '          service: {name: nowhere, port: {number: 80}}', ''].join('\n'),
  );
  const rejected = page.getByRole('region', { name: 'Rejected resources' });
  await rejected.getByText('broken.yaml').waitFor({ timeout: DEADLINE_MS });
  const text = await rejected.textContent();
  check(text.includes('broken'), `the broken file is listed as rejected (${text.slice(0, 200)})`);
  await shot(page, 'live-rejected');

  // A stale edit: open the route, change it elsewhere, then save → conflict, not overwrite.
  await page.goto(`${consoleUrl}/routes/hello`);
  await page.getByRole('heading', { name: 'Route hello' }).waitFor();
  const other = await context.request.get(`${consoleUrl}/v1/routes/hello`);
  const current = (await other.json()).data;
  const changed = await context.request.put(`${consoleUrl}/v1/routes/hello`, { data: { ...current, methods: ['GET'] } });
  check(changed.ok(), `another client changes the route (${changed.status()})`);
  await page.getByLabel('POST').check();
  await page.getByRole('button', { name: 'Save route' }).click();
  const conflict = page.getByRole('alert').filter({ hasText: 'Conflict' });
  await conflict.waitFor();
  await shot(page, 'route-conflict');
  const after = (await (await context.request.get(`${consoleUrl}/v1/routes/hello`)).json()).data;
  check(JSON.stringify(after.methods) === '["GET"]', 'the stale edit did not overwrite the other change');
  await conflict.getByRole('button', { name: 'Reload the current version' }).click();
  await eventually('the reloaded form', async () => page.getByLabel('GET').isChecked());
  check(true, 'reload shows the current version');

  // Change the password: the session ends; the new password logs in.
  await page.getByRole('link', { name: 'admin' }).click();
  await page.getByLabel('Current password').fill('s3cret-pass');
  await page.getByLabel('New password').fill('n3w-secret-pass');
  await shot(page, 'account');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL('**/login');
  await page.getByRole('heading', { name: 'Log in to Gantry' }).waitFor();
  await page.getByLabel('Password').fill('n3w-secret-pass');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/live');
  check(true, 'a password change ends the session and the new password logs in');

  // Narrow window, dark mode.
  await page.setViewportSize({ width: 380, height: 800 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${consoleUrl}/live`);
  await page.getByRole('heading', { name: 'Live' }).waitFor();
  await shot(page, 'live-narrow-dark');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no horizontal page overflow at 380 px (${overflow})`);
} catch (e) {
  failed = true;
  console.error(`not ok - ${e.stack || e}`);
  console.error(`--- gantry log ---\n${gantryLog.split('\n').slice(-40).join('\n')}`);
} finally {
  await browser?.close().catch(() => {});
  gantry.kill('SIGTERM');
  backend.close();
  rmSync(work, { recursive: true, force: true });
  console.log(`screenshots: ${OUT}`);
}
process.exit(failed ? 1 : 0);
