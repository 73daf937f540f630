// A run's job waiting for a protected environment in the dashboard (tests/e2e/dashboard_approval.sh):
// a viewer sees "Waiting for approval (1/2) — production" and no buttons; an operator approves
// it from the run page and the job runs. Env: URL, RUN, OPERATOR_TOKEN, VIEWER_TOKEN, CHROMIUM, ARTIFACTS.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const { URL, RUN, OPERATOR_TOKEN, VIEWER_TOKEN, CHROMIUM, ARTIFACTS } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
let failed = false;
let page = null;
const dialogs = [];
async function shot(name) { await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true }); }
function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failed = true;
}
async function signIn(token) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(URL + '/#/login');
  await page.fill('input[type=password]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Projects');
  // The projects page has rendered: the next page does not race it.
  await page.waitForSelector('a[href="#/projects/shop"]');
  return ctx;
}

try {
  // 1. A viewer sees the waiting job and its approvals so far, without buttons.
  let ctx = await signIn(VIEWER_TOKEN);
  await page.goto(URL + '/#/runs/' + RUN);
  await page.waitForSelector('#graph .gate');
  const text = await page.textContent('#graph .gate');
  check(text.includes('Waiting for approval (1/2) — production'), `the viewer sees the waiting job (${text})`);
  check((await page.$$('#graph .gate button')).length === 0, 'the viewer has no Approve / Reject buttons');
  check((await page.textContent('#run-status')) === 'waiting', 'the run shows as waiting');
  check(!(await page.textContent('#graph')).includes('null'), 'jobs that do not wait show nothing extra');
  await shot('approval-01-viewer');
  await page.goto(URL + '/#/approvals');
  await page.waitForSelector('[data-run-gate]');
  check((await page.textContent('[data-run-gate]')).includes('Job deploy · Waiting for approval (1/2) — production'),
    'the Approvals page lists the waiting job');
  await ctx.close();

  // 2. An operator approves from the run page; the job starts and the run succeeds, live.
  ctx = await signIn(OPERATOR_TOKEN);
  await page.goto(URL + '/#/runs/' + RUN);
  await page.waitForSelector('#graph .gate button.approve');
  check((await page.$$('#graph .gate button.reject')).length === 1, 'the operator gets Reject too');
  await shot('approval-02-operator');
  await page.click('#graph .gate button.approve');
  await page.waitForSelector('#run-status:has-text("success")', { timeout: 30000 });
  check((await page.$$('#graph .gate')).length === 0, 'the gate is gone once approved');
  check(dialogs.length === 0, `no error dialogs (${dialogs.join('; ')})`);
  await shot('approval-03-approved');
  await ctx.close();
} catch (e) {
  console.log('FAIL ' + e.message);
  failed = true;
}
await browser.close();
process.exit(failed ? 1 : 0);
