// Measures the run page with a big log against the peer (the same log as a plain <pre>).
// Env: URL, TOKEN, RUN, LINES, REPEATS, PEER (file path), CHROMIUM. Prints a table of medians.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const { URL, TOKEN, RUN, PEER, CHROMIUM } = process.env;
const LINES = Number(process.env.LINES || 100000);
const REPEATS = Number(process.env.REPEATS || 3);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
});
const version = browser.version();

// Two animation frames: what was changed before is painted.
const painted = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))));

async function measure(page, url, firstLine, allLoaded, scroller) {
  let bytes = 0;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector(firstLine, { timeout: 120000 });
  await page.evaluate(painted);
  const first = Date.now() - t0;
  await page.waitForFunction(allLoaded, LINES, { timeout: 300000, polling: 50 });
  await page.evaluate(painted);
  const loaded = Date.now() - t0;
  // Jump to the end, then scroll back up by screens, painting each time.
  const scroll = await page.evaluate(async ([sel, paintedSrc]) => {
    const painted = eval(paintedSrc);
    const el = sel ? document.querySelector(sel) : document.scrollingElement;
    const a = performance.now();
    el.scrollTop = el.scrollHeight;
    const end = (await painted()) - a;
    const b = performance.now();
    for (let i = 0; i < 20; i++) { el.scrollTop -= el.clientHeight; await painted(); }
    return { end, screens: (performance.now() - b) / 20 };
  }, [scroller, painted.toString()]);
  await cdp.send('Performance.enable');
  const perf = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  await cdp.detach();
  return { bytes, first, loaded, end: scroll.end, screens: scroll.screens, nodes: perf.Nodes, heap: perf.JSHeapUsedSize };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { dashboard: [], peer: [] };
try {
  for (let i = 0; i < REPEATS; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(URL + '/#/login');
    await page.evaluate(async (token) => {
      await fetch('/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Gantry-CSRF': '1' },
                                        body: JSON.stringify({ token }) });
    }, TOKEN);
    await page.goto('about:blank');
    // All loaded: the virtual spacer is as tall as every line (18 px each).
    results.dashboard.push(await measure(page, URL + '/#/runs/' + RUN, '.log .line',
      (n) => { const s = document.querySelector('.log .spacer'); return s && s.offsetHeight >= n * 18; }, '.log'));
    await ctx.close();
    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const peer = await ctx2.newPage();
    results.peer.push(await measure(peer, 'file://' + PEER, '#log',
      (n) => document.readyState === 'complete', null));
    await ctx2.close();
  }
} finally {
  await browser.close();
}
const row = (name, rs) => {
  const m = (k) => median(rs.map((r) => r[k]));
  return `${name.padEnd(26)} ${(m('bytes') / 1024).toFixed(0).padStart(8)} KiB ${String(m('first')).padStart(7)} ms ` +
    `${String(m('loaded')).padStart(8)} ms ${m('end').toFixed(1).padStart(8)} ms ${m('screens').toFixed(1).padStart(8)} ms ` +
    `${String(m('nodes')).padStart(8)} ${(m('heap') / 1048576).toFixed(1).padStart(7)} MiB`;
};
console.log(`${LINES} lines, Chromium ${version}, median of ${REPEATS}`);
console.log(`${'page'.padEnd(26)} ${'weight'.padStart(12)} ${'1st line'.padStart(10)} ${'all lines'.padStart(11)} ` +
            `${'to end'.padStart(11)} ${'per screen'.padStart(11)} ${'DOM nodes'.padStart(8)} ${'JS heap'.padStart(11)}`);
console.log(row('dashboard run page', results.dashboard));
console.log(row('peer: static <pre>', results.peer));
