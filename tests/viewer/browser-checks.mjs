// browser-checks.mjs: drives Debian's chromium (headless, puppeteer-core) through heatmap-viewer
// and checks what a person would see. Inputs (environment):
//   VIEWER_URL   http://127.0.0.1:PORT/
//   EXPECT       JSON file: {"month": "2025-10", "days": [...], "partial_days": [...],
//                "day": "2025-10-20", "hours_with_map": [9, 13], "zones": {"name": {"9": v}},
//                "compare": ["2025-10-20", "2025-10-21"], "clip": "2025/10/20/09/clip_…"}
//   ARTIFACTS    folder for screenshots
//   CHROMIUM     browser binary (default /usr/bin/chromium)
// Prints one "ok: …" or "FAIL: …" line per check; exits 1 when any check failed.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.VIEWER_URL;
const expect = JSON.parse(fs.readFileSync(process.env.EXPECT, 'utf8'));
const artifacts = process.env.ARTIFACTS;
fs.mkdirSync(artifacts, { recursive: true });

let failures = 0;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}${ok || !detail ? '' : ` (${detail})`}`);
  if (!ok) failures++;
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--disable-background-networking', '--disable-component-update',
         // The first page goes on after a second one was opened: keep it running at full speed.
         '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
         '--disable-backgrounding-occluded-windows'],
});

// Every request the page makes must stay on the viewer (works offline, no CDN).
const foreign = [];
async function newPage(viewport = { width: 1280, height: 1000 }) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith('data:')) {
      foreign.push(req.url());
      req.abort();
    } else req.continue();
  });
  page.on('pageerror', (err) => check(false, 'no script error', err.message));
  return page;
}

// Images are lazy: opens every <details>, asks for every image now and scrolls through the page,
// waits for all of them to load (or fail), and scrolls back to the top.
async function loadAll(page) {
  await page.evaluate(async () => {
    for (const d of document.querySelectorAll('details')) d.open = true;
    for (const i of document.images) i.loading = 'eager';
    for (let y = 0; y <= document.documentElement.scrollHeight; y += window.innerHeight / 2) {
      window.scrollTo(0, y);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), { timeout: 20000, polling: 100 });
  await page.evaluate(() => window.scrollTo(0, 0));
}

// Opens a view and waits until the page says it has rendered it and every image has loaded.
async function open(page, hash) {
  await page.goto(`${base}${hash}`, { waitUntil: 'networkidle0' });
  try {
    await page.waitForFunction((h) => document.body.dataset.ready === h, { timeout: 20000, polling: 100 }, hash);
    await loadAll(page);
  } catch (error) {
    const state = await page.evaluate(() => ({
      ready: document.body.dataset.ready, hash: location.hash,
      pending: [...document.images].filter((i) => !i.complete).map((i) => i.src),
      text: (document.querySelector('main') || document.body).innerText.slice(0, 200),
    }));
    throw new Error(`opening ${hash}: ${error.message}; page: ${JSON.stringify(state)}`);
  }
}

async function images(page) {
  return page.$$eval('img', (imgs) => imgs.map((i) => ({
    src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight, cls: i.className,
  })));
}

function imagesOk(list, what) {
  const broken = list.filter((i) => !(i.w > 0 && i.h > 0) || i.cls.includes('broken'));
  check(list.length > 0 && broken.length === 0, what,
        `${broken.length} of ${list.length} broken: ${broken.map((b) => b.src).join(' ')}`);
}

try {
  const page = await newPage();

  // 1. Calendar: exactly the expected days are marked, partial ones as partial.
  await open(page, `#/month/${expect.month}`);
  const marked = await page.$$eval('.calendar a.day.observed', (a) => a.map((e) => e.dataset.day));
  check(JSON.stringify(marked.sort()) === JSON.stringify([...expect.days].sort()),
        'calendar shows the days with footage', `got ${marked}`);
  const partial = await page.$$eval('.calendar a.day.partial', (a) => a.map((e) => e.dataset.day));
  check(JSON.stringify(partial.sort()) === JSON.stringify([...expect.partial_days].sort()),
        'calendar marks partial days', `got ${partial}`);
  await page.screenshot({ path: path.join(artifacts, 'calendar.png'), fullPage: true });

  // 2. Shared URL: reach the day by clicking, then reopen the address in a fresh page.
  await Promise.all([
    page.waitForFunction((d) => document.body.dataset.ready === `#/day/${d}`, { timeout: 20000, polling: 100 }, expect.day),
    page.click(`.calendar a[data-day="${expect.day}"]`),
  ]);
  await loadAll(page);
  const sharedUrl = page.url();
  const dayTitle = await page.$eval('h1', (e) => e.textContent);
  const dayImages = await images(page);
  imagesOk(dayImages, 'day view: every image loads (natural size > 0)');
  const mapped = await page.$$eval('.hours a.hour:not(.clips-only)', (a) => a.map((e) => Number(e.dataset.hour)));
  check(JSON.stringify(mapped) === JSON.stringify(expect.hours_with_map),
        'day view: hour maps for the observed hours', `got ${mapped}`);
  const unobserved = await page.$$eval('.hours .hour.unobserved', (a) => a.length);
  const withClips = await page.$$eval('.hours a.hour', (a) => a.length);
  check(unobserved + withClips === 24 && unobserved === 24 - expect.hours_with_map.length,
        'day view: the other hours are shown as not observed', `${unobserved} unobserved`);
  const dayMap = dayImages.find((i) => i.src.endsWith('day_heatmap.jpg'));
  check(dayMap && dayMap.w === expect.day_map_size[0] && dayMap.h === expect.day_map_size[1],
        'day view: the day map has its natural size', JSON.stringify(dayMap));
  await page.screenshot({ path: path.join(artifacts, 'day.png'), fullPage: true });

  const again = await newPage();
  await again.goto(sharedUrl, { waitUntil: 'networkidle0' });
  await again.waitForFunction((h) => document.body.dataset.ready === h, { timeout: 20000, polling: 100 },
                              new URL(sharedUrl).hash);
  await loadAll(again);
  const againTitle = await again.$eval('h1', (e) => e.textContent);
  const againSrcs = (await images(again)).map((i) => i.src);
  check(againTitle === dayTitle && JSON.stringify(againSrcs) === JSON.stringify(dayImages.map((i) => i.src)),
        'a shared URL reopens the same view', `${againTitle} vs ${dayTitle}`);
  await again.close();
  await page.bringToFront();

  // 3. Zone chart: one point per zone and observed hour, with the sidecars' values.
  const points = await page.$$eval('.zone-series', (groups) => groups.map((g) => ({
    zone: g.dataset.zone,
    values: Object.fromEntries([...g.querySelectorAll('circle')].map((c) => [c.dataset.hour, Number(c.dataset.value)])),
  })));
  const expectedZones = Object.keys(expect.zones).sort();
  check(JSON.stringify(points.map((p) => p.zone).sort()) === JSON.stringify(expectedZones),
        'zone chart: one series per zone', JSON.stringify(points.map((p) => p.zone)));
  let chartOk = points.length > 0;
  for (const p of points) {
    const want = expect.zones[p.zone] || {};
    if (JSON.stringify(Object.keys(p.values).sort()) !== JSON.stringify(Object.keys(want).sort())) chartOk = false;
    for (const [hour, v] of Object.entries(want)) if (Math.abs(p.values[hour] - v) > 1e-9) chartOk = false;
  }
  check(chartOk, 'zone chart: the values are the hour sidecars\' mean activity', JSON.stringify(points));

  // 4. Keyboard: → opens the next day, ← comes back.
  // (Each press waits for the view it leads to: a key pressed while a view loads does nothing.)
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((d) => document.body.dataset.ready === `#/day/${d}`, { timeout: 20000, polling: 100 },
                             expect.next_day).catch(() => {});
  const next = await page.evaluate(() => location.hash);
  check(next === `#/day/${expect.next_day}`, 'keyboard → goes to the next day', next);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((d) => document.body.dataset.ready === `#/day/${d}`, { timeout: 20000, polling: 100 }, expect.day);
  check(true, 'keyboard ← comes back');

  // 5. An hour lists its clips; clicking one opens its map and its sidecar's statistics.
  const [cy, cm, cd, ch] = expect.clip.split('/');
  await open(page, `#/hour/${cy}-${cm}-${cd}T${ch}`);
  const listed = await page.$$eval('ul.clips a', (a) => a.map((e) => e.getAttribute('href')));
  check(listed.length === expect.clips_in_hour && listed.includes(`#/clip/${expect.clip}`),
        'hour view: lists its clips', JSON.stringify(listed));
  imagesOk(await images(page), 'hour view: its map loads');
  await Promise.all([
    page.waitForFunction((c) => document.body.dataset.ready === `#/clip/${c}`, { timeout: 20000, polling: 100 }, expect.clip),
    page.click(`ul.clips a[href="#/clip/${expect.clip}"]`),
  ]);
  await loadAll(page);
  imagesOk(await images(page), 'clip view: its map loads');
  const frames = await page.$$eval('table.stats tr', (rows) => rows.map((r) => r.textContent));
  check(frames.some((t) => t.startsWith('Frames processed') && t.endsWith(String(expect.clip_frames))),
        'clip view: frames processed from the sidecar', frames.join(' | '));
  check(!(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)),
        'clip view: fits the width (a long source path wraps)');
  await page.screenshot({ path: path.join(artifacts, 'clip.png'), fullPage: true });

  // 6. Compare: A, B and the difference render at one scale.
  const [a, b] = expect.compare;
  await open(page, `#/compare/${a}/${b}`);
  const cmp = await images(page);
  check(cmp.length === 3, 'compare: three maps', `${cmp.length}`);
  imagesOk(cmp, 'compare: every map loads');
  await page.screenshot({ path: path.join(artifacts, 'compare.png'), fullPage: true });

  // 7. A week map and a phone-sized day.
  if (expect.week) {
    await open(page, `#/period/${expect.week}`);
    imagesOk(await images(page), 'week view: its map loads');
  }
  const phone = await newPage({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 1 });
  await open(phone, `#/day/${expect.day}`);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, 'phone: the day view fits the width (no sideways scrolling)');
  await phone.screenshot({ path: path.join(artifacts, 'day-phone.png'), fullPage: true });

  check(foreign.length === 0, 'no request leaves the viewer (offline)', foreign.join(' '));
} catch (error) {
  check(false, 'browser run', error.stack || String(error));
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
