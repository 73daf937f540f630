// Drives Debian's Chromium with playwright-core against a running gantry server.
// Env: URL, TOKEN, VIEWER_TOKEN, CHROMIUM, ARTIFACTS, GATE (a file the slow step waits for). Fails (exit 1) on the first broken expectation.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const { URL, TOKEN, VIEWER_TOKEN, CHROMIUM, ARTIFACTS, GATE } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const dialogs = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
page.on('pageerror', (e) => console.log('page error:', e.message));

async function shot(name) { await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true }); }
function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failed = true;
}

try {
  // 1. Sign in with the token; the session is a cookie, so EventSource works too.
  await page.goto(URL + '/');
  await page.waitForSelector('input[type=password]');
  await shot('01-login');
  await page.fill('input[type=password]', 'not-a-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('.login .error:not(:empty)');
  check((await page.textContent('.login .error')).includes('invalid'), 'a wrong token is refused with a message');
  await page.fill('input[type=password]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=webapp');
  await shot('02-projects');
  check(true, 'signed in and the project is listed');

  // 2. The project's runs: the push started a run; the hostile branch and message are text.
  await page.click('a[href="#/projects/webapp"]');
  await page.waitForSelector('#runs tr[data-run]');
  const runsText = await page.textContent('#runs');
  check(runsText.includes('"><img/src=x/onerror=window.__pwned=2>'), 'the branch name is shown as text');
  check((await page.$$('#runs img')).length === 0 && (await page.$$('#runs b')).length === 0, 'no HTML was injected');
  const title = await page.textContent('#runs tr[data-run] .run-title');
  check(title === '"><img src=x onerror=alert(1)> <b>bold</b>', `the run's title is the commit message's first line, as text (${title})`);
  check((await page.textContent('#runs tr[data-run]')).includes('Tess Tester'), 'the commit author is listed');
  await shot('03-runs');

  // 3. The run page: job graph with the matrix grouped, log lines arriving live.
  await page.click('#runs tr[data-run] a');
  await page.waitForSelector('#graph .job');
  check((await page.textContent('#run-title')) === '"><img src=x onerror=alert(1)> <b>bold</b>' &&
        (await page.$$('#run-title img, #run-title b')).length === 0, 'the run page shows the title as text');
  check((await page.textContent('#run-author')) === 'Tess Tester', 'the run page shows the author');
  // The slow step stops after "tick 5" until GATE exists, so the page is surely watching
  // before the rest of the lines arrive.
  await page.waitForSelector('.log .line:has-text("tick 5")', { timeout: 30000 });
  const firstTick = await page.$$eval('.log .line', (ls) => ls.length);
  const logText = await page.textContent('.log');
  check(logText.includes('<script>window.__pwned = 1</script>'), 'a <script> log line is shown as text');
  check(!logText.includes('inside the group'), 'groups are folded');
  await page.click('.log .group');
  await page.waitForSelector('.log .line:has-text("inside the group")');
  check(true, 'a folded group opens on click');
  writeFileSync(GATE, '');
  await page.waitForSelector('.log .line:has-text("tick 30")', { timeout: 30000 });
  const laterTick = await page.$$eval('.log .line', (ls) => ls.length);
  check(laterTick > firstTick, `log lines stream in live (${firstTick} → ${laterTick} lines shown)`);
  await shot('04-run-live');
  await page.fill('#log-search', 'tick 1');
  const hits = await page.$$eval('.log .line.hit', (ls) => ls.length);
  check(hits > 0, `search highlights matching lines (${hits} shown)`);
  await page.waitForSelector('#run-ref');
  await page.waitForFunction(() => /success|failure/.test(document.querySelector('#run-status').textContent), null,
                             { timeout: 60000 });
  check((await page.textContent('#run-status')).includes('success'), 'the run finished successfully');
  await page.waitForSelector('#graph .job[data-job=test]', { timeout: 30000 });
  const graph = await page.textContent('#graph');
  check(graph.includes('build') && graph.includes('test (2)') && graph.includes('shard: 2'),
        'the job graph shows build and the matrix job grouped');
  await page.waitForSelector('text=Build summary', { timeout: 30000 });
  check(true, 'the step summary is rendered');
  await shot('05-run-done');

  // 3b. Filters: branch and workflow, kept in the URL.
  await page.goto(URL + '/#/projects/webapp');
  await page.waitForSelector('#runs tr[data-run]');
  await page.fill('#run-filters input[name=branch]', 'no-such-branch');
  await page.press('#run-filters input[name=branch]', 'Enter');
  await page.waitForSelector('#no-runs');
  check(page.url().includes('branch=no-such-branch'), 'the branch filter is in the URL and hides other runs');
  await page.goto(URL + '/#/projects/webapp?workflow=ci&branch=' + encodeURIComponent('"><img/src=x/onerror=window.__pwned=2>'));
  await page.waitForSelector('#runs tr[data-run]');
  check((await page.$$('#runs tr[data-run]')).length === 1, 'filtering by the hostile branch and the workflow finds the run');
  await page.goto(URL + '/#/runs?workflow=nope');
  await page.waitForSelector('#no-runs');
  check(true, 'an unknown workflow filter shows no runs');

  // 4. Trigger a run from the page (workflow_dispatch) and land on it.
  await page.goto(URL + '/#/projects/webapp');
  await page.waitForSelector('#trigger');
  await page.fill('#trigger input[name=workflow]', 'ci.yml');
  await page.fill('#trigger input[name=ref]', '"><img/src=x/onerror=window.__pwned=2>');
  await page.click('#trigger button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#runs tr[data-run]').length >= 2 || location.hash.startsWith('#/runs/'),
                             null, { timeout: 15000 });
  check(true, 'a run was triggered from the page');
  await shot('06-triggered');

  // 5. A viewer sees the same pages without the buttons that change anything.
  const viewer = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const vpage = await viewer.newPage();
  await vpage.goto(URL + '/#/login');
  await vpage.fill('input[type=password]', VIEWER_TOKEN);
  await vpage.click('button[type=submit]');
  await vpage.waitForSelector('text=webapp');
  await vpage.goto(URL + '/#/projects/webapp');
  await vpage.waitForSelector('#runs tr[data-run]');
  check(!(await vpage.$('#trigger')), 'a viewer gets no trigger form');
  await vpage.click('#runs tr[data-run]:last-child a');
  await vpage.waitForSelector('#run-status .badge');
  await vpage.waitForFunction(() => /success|failure/.test(document.querySelector('#run-status').textContent), null,
                              { timeout: 60000 });
  check((await vpage.$$('#rerun, #cancel, #rerun-failed')).length === 0, 'a viewer gets no cancel or re-run buttons');
  await vpage.screenshot({ path: `${ARTIFACTS}/07-viewer-run.png`, fullPage: true });
  await viewer.close();

  check(dialogs.length === 0, 'no script ran from injected content (no dialogs)');
  check(!(await page.evaluate(() => window.__pwned)), 'no injected code ran');
} catch (e) {
  console.log('FAIL ' + e.message);
  failed = true;
  await shot('99-failure').catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
