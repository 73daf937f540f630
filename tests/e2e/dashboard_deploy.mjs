// Deployments in the browser, against a running gantry server that hosts the deployment
// controller: a viewer sees the pending production deployment without buttons; an operator
// approves it from the Approvals page, watches it finish, then rolls back to the earlier
// revision chosen in the list. Env: URL, ADMIN_TOKEN, VIEWER_TOKEN, SERVICE, ENVIRONMENT,
// OLD, NEW (revisions), CHROMIUM, ARTIFACTS. Fails (exit 1) on the first broken expectation.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const { URL, ADMIN_TOKEN, VIEWER_TOKEN, SERVICE, ENVIRONMENT, OLD, NEW, CHROMIUM, ARTIFACTS } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
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
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.accept(); });
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(URL + '/#/login');
  await page.fill('input[type=password]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Projects');
  return ctx;
}
const servicePage = URL + '/#/services/' + encodeURIComponent(SERVICE) + '/' + encodeURIComponent(ENVIRONMENT);
const text = async (sel) => (await page.textContent(sel)) || '';

try {
  // 1. A viewer sees the deployment waiting for approval, and no buttons.
  let ctx = await signIn(VIEWER_TOKEN);
  await page.goto(servicePage);
  await page.waitForSelector('#approval');
  const revOf = async (sel) => (await page.getAttribute(sel, 'data-revision')) || '';
  check((await revOf('#stable-revision')) === OLD && (await revOf('#new-revision')) === NEW,
        `the viewer sees stable ${OLD} → new ${NEW}`);
  check((await text('#service .badge')) === 'waiting_approval', 'the deployment is shown waiting for approval');
  check((await page.$$('#service button')).length === 0, 'the viewer sees no buttons');
  await shot('deploy-01-viewer');
  await ctx.close();

  // 2. An operator approves it from the Approvals page; the page follows it to the end.
  ctx = await signIn(ADMIN_TOKEN);
  await page.goto(URL + '/#/approvals');
  await page.waitForSelector('#approval #approve');
  check((await text('#approval')).includes(NEW), 'the approvals page lists the production deployment');
  await shot('deploy-02-approvals');
  // Without the CSRF header the same cookie cannot change anything.
  const forged = await page.evaluate(async (path) => (await fetch(path, { method: 'POST', body: '{}' })).status,
    '/api/v1/services/' + encodeURIComponent(SERVICE) + '/' + encodeURIComponent(ENVIRONMENT) + '/approve');
  check(forged === 403, `a POST without X-Gantry-CSRF is refused (${forged})`);
  await page.click('#approval #approve');
  await page.goto(servicePage);
  await page.waitForSelector('#service');
  await shot('deploy-03-approved');
  await page.waitForFunction((rev) => {
    const s = document.querySelector('#stable-revision');
    return s && s.dataset.revision === rev && !document.querySelector('#new-revision');
  }, NEW, { timeout: 90000, polling: 500 });
  check(true, `after approval ${NEW} is the stable revision`);
  check((await text('#history')).includes('succeeded'), 'the history shows the deployment succeeded');
  const healthy = await page.$$eval('#instances tr', (rows) => rows.slice(1).map((r) => r.textContent));
  check(healthy.length > 0 && healthy.every((r) => r.includes(NEW.slice(0, 12)) && r.includes('healthy')),
        `every instance runs ${NEW} and is healthy (${healthy.length})`);
  await shot('deploy-04-stable');

  // 3. Roll back to the earlier revision chosen in the list.
  const options = await page.$$eval('#rollback-to option', (os) => os.map((o) => o.value));
  check(options.includes(OLD), `the rollback list offers ${OLD} (${options.join(', ')})`);
  await page.selectOption('#rollback-to', OLD);
  await page.click('#rollback');
  check(dialogs.some((d) => d.includes('Roll back') && d.includes(OLD.slice(0, 12))), 'the rollback asks for confirmation');
  await page.waitForFunction((rev) => {
    const s = document.querySelector('#stable-revision');
    return s && s.dataset.revision === rev && !document.querySelector('#new-revision');
  }, OLD, { timeout: 90000, polling: 500 });
  check(true, `after the rollback ${OLD} is the stable revision again`);
  check((await text('#history tr[data-deployment] td')).includes('↩'), 'the newest history entry is the rollback');
  await shot('deploy-05-rolled-back');
  await ctx.close();
} catch (e) {
  console.log('FAIL ' + e.message);
  failed = true;
  if (page) await shot('deploy-99-failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
