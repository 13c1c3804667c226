// app.js: the heatmap viewer page. Every view is a URL hash, so it can be shared:
//   #/month/2025-10   calendar          #/day/2025-10-20          day map + 24 hours + zones
//   #/hour/2025-10-20T13  clip list     #/clip/2025/10/20/13/clip_…   one clip and its statistics
//   #/period/2025-W43 or /2025-10       week or month map     #/weeks   #/compare/A/B
import * as api from './api.js';
import { zoneChart } from './chart.js';

const view = document.getElementById('view');

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function heatImage(rel, alt, cls = 'map') {
  const img = h('img', { src: api.fileUrl(rel), alt, class: cls, loading: 'lazy' });
  img.addEventListener('error', () => img.classList.add('broken'));
  return img;
}

const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(2)} %`);
// Observed time as people read it: 45 s, 12 min, 3.5 h.
const hours = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
};

function summary(sidecar) {
  if (!sidecar) return h('p', { class: 'note' }, 'No statistics for this map.');
  const rows = [];
  const add = (label, value) => rows.push(h('tr', {}, h('th', {}, label), h('td', {}, value)));
  if (sidecar.period) add('Period', `${sidecar.period.kind} ${sidecar.period.id}`);
  if (sidecar.source) add('Source', sidecar.source);
  if (sidecar.start_utc) add('Start (UTC)', sidecar.start_utc);
  if (sidecar.duration_s !== undefined) add('Duration', `${sidecar.duration_s.toFixed(1)} s`);
  if (sidecar.clips !== undefined) add('Clips', sidecar.clips);
  if (sidecar.seconds_observed !== undefined) add('Observed', hours(sidecar.seconds_observed));
  if (sidecar.coverage && sidecar.coverage.hours)
    add('Hours with footage', sidecar.coverage.hours.length);
  if (sidecar.frames_processed !== undefined) add('Frames processed', sidecar.frames_processed);
  if (sidecar.fps !== undefined) add('Frame rate', `${Number(sidecar.fps).toFixed(2)} fps`);
  if (sidecar.width) add('Map size', `${sidecar.width} × ${sidecar.height}`);
  const stats = sidecar.stats || {};
  if (stats.motion_coverage !== undefined) add('Area with motion', pct(stats.motion_coverage));
  if (stats.max_count !== undefined) add('Busiest pixel', `${stats.max_count} frames`);
  if (stats.camera_moved !== undefined)
    add('Camera moved', stats.camera_moved ? 'yes: the map may be smeared' : 'no');
  if (stats.lighting_events !== undefined) add('Lighting changes', stats.lighting_events);
  const table = h('table', { class: 'stats' }, rows);
  const zones = (sidecar.zones || []).map((z) =>
    h('tr', { 'data-zone': z.name }, h('th', {}, z.name), h('td', {}, pct(z.mean_activity)),
      h('td', {}, `${(z.active_seconds ?? 0).toFixed(0)} s`), h('td', {}, pct(z.peak))));
  return h('div', { class: 'summary' }, table,
    zones.length ? h('table', { class: 'zones' },
      h('tr', {}, h('th', {}, 'Zone'), h('th', {}, 'Mean activity'), h('th', {}, 'Active'),
        h('th', {}, 'Peak')), zones) : null);
}

function setView(title, ...children) {
  document.title = `${title} · Heatmaps`;
  view.replaceChildren(h('h1', {}, title), ...children);
  view.focus({ preventScroll: true });
}

// --- views ---------------------------------------------------------------------------------

async function calendarView(monthId) {
  const index = await api.months();
  if (!monthId) {
    if (!index.months.length) return setView('No heatmaps yet', h('p', { class: 'note' },
      'Nothing under the heatmaps prefix of this bucket.'));
    monthId = index.months[index.months.length - 1];
  }
  const data = await api.month(monthId);
  const observed = new Map(data.days.map((d) => [d.day, d]));
  const weeks = new Set(index.weeks);
  const first = new Date(`${monthId}-01T00:00:00Z`);
  const lead = (first.getUTCDay() + 6) % 7;
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();

  const grid = h('div', { class: 'calendar', role: 'grid' },
    ['Week', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => h('div', { class: 'dow' }, d)));
  let cell = 0;
  const addWeekLabel = (dayId) => {
    const w = api.isoWeek(dayId);
    grid.append(weeks.has(w) ? h('a', { class: 'week', href: `#/period/${w}` }, w.slice(5))
                             : h('div', { class: 'week' }, w.slice(5)));
  };
  addWeekLabel(`${monthId}-01`);
  for (let i = 0; i < lead; ++i, ++cell) grid.append(h('div', { class: 'day empty' }));
  for (let d = 1; d <= last; ++d, ++cell) {
    const dayId = `${monthId}-${String(d).padStart(2, '0')}`;
    if (cell > 0 && cell % 7 === 0) addWeekLabel(dayId);
    const info = observed.get(dayId);
    if (!info) {
      grid.append(h('div', { class: 'day', 'data-day': dayId }, h('span', { class: 'num' }, d)));
      continue;
    }
    grid.append(h('a', {
      class: `day observed${info.partial ? ' partial' : ''}`, href: `#/day/${dayId}`,
      'data-day': dayId, title: info.partial ? 'partial coverage' : 'full coverage',
    }, h('span', { class: 'num' }, d), h('span', { class: 'cov' }, `${info.hours_observed} h`)));
  }
  const nav = h('div', { class: 'pager' },
    h('a', { href: `#/month/${api.shiftMonth(monthId, -1)}`, rel: 'prev' }, '← previous month'),
    data.has_map ? h('a', { href: `#/period/${monthId}` }, 'month map') : null,
    h('a', { href: `#/month/${api.shiftMonth(monthId, 1)}`, rel: 'next' }, 'next month →'));
  setView(`Calendar ${monthId}`, nav, grid,
    h('p', { class: 'legend' }, h('span', { class: 'swatch observed' }), ' footage all day ',
      h('span', { class: 'swatch partial' }, ''), ' partial coverage ',
      h('span', { class: 'swatch' }), ' no footage'));
  keys.prev = `#/month/${api.shiftMonth(monthId, -1)}`;
  keys.next = `#/month/${api.shiftMonth(monthId, 1)}`;
}

async function dayView(dayId) {
  const data = await api.day(dayId);
  const base = api.rollupBase(dayId);
  const sidecar = data.has_map ? await api.getJsonOrNull(api.fileUrl(`${base}.json`)) : null;
  const tiles = data.hours.map((hr) => {
    const id = api.hourId(dayId, hr.hour);
    const label = `${String(hr.hour).padStart(2, '0')}:00`;
    if (hr.has_map)
      return h('a', { class: 'hour', href: `#/hour/${id}`, 'data-hour': hr.hour },
        heatImage(`${api.rollupBase(id)}.jpg`, `heatmap ${id}`, 'thumb'), h('span', {}, label));
    if (hr.clips.length)
      return h('a', { class: 'hour clips-only', href: `#/hour/${id}`, 'data-hour': hr.hour },
        heatImage(hr.clips[0].jpeg, `first clip ${id}`, 'thumb'), h('span', {}, `${label} (${hr.clips.length} clips)`));
    return h('div', { class: 'hour unobserved', 'data-hour': hr.hour },
      h('div', { class: 'thumb blank' }, 'not observed'), h('span', {}, label));
  });

  // Zone activity per hour, from the hour sidecars.
  const hourSidecars = await Promise.all(data.hours.map((hr) => hr.has_map
    ? api.getJsonOrNull(api.fileUrl(`${api.rollupBase(api.hourId(dayId, hr.hour))}.json`))
    : Promise.resolve(null)));
  const series = new Map();
  hourSidecars.forEach((sc, hour) => {
    for (const z of (sc && sc.zones) || []) {
      if (!series.has(z.name)) series.set(z.name, Array(24).fill(null));
      series.get(z.name)[hour] = z.mean_activity;
    }
  });

  setView(`Day ${dayId}`,
    h('div', { class: 'pager' },
      h('a', { href: `#/day/${api.shiftDay(dayId, -1)}`, rel: 'prev' }, '← previous day'),
      h('a', { href: `#/month/${dayId.slice(0, 7)}` }, 'calendar'),
      h('a', { href: `#/period/${api.isoWeek(dayId)}` }, `week ${api.isoWeek(dayId)}`),
      h('a', { href: `#/compare/${api.shiftDay(dayId, -7)}/${dayId}` }, 'compare with a week before'),
      h('a', { href: `#/day/${api.shiftDay(dayId, 1)}`, rel: 'next' }, 'next day →')),
    h('section', { class: 'day-map' },
      data.has_map ? heatImage(`${base}.jpg`, `day heatmap ${dayId}`)
                   : h('p', { class: 'note' }, 'No day map (rollups not built yet).'),
      summary(sidecar)),
    h('h2', {}, 'Hours'),
    h('div', { class: 'hours' }, tiles),
    h('h2', {}, 'Zone activity per hour'),
    series.size ? h('figure', { class: 'chart' }, zoneChart(series))
                : h('p', { class: 'note' }, 'No zones configured for this day.'));
  keys.prev = `#/day/${api.shiftDay(dayId, -1)}`;
  keys.next = `#/day/${api.shiftDay(dayId, 1)}`;
}

async function hourView(id) {
  const dayId = id.slice(0, 10);
  const hour = Number(id.slice(11, 13));
  const data = await api.day(dayId);
  const hr = data.hours[hour];
  const base = api.rollupBase(id);
  const sidecar = hr.has_map ? await api.getJsonOrNull(api.fileUrl(`${base}.json`)) : null;
  const clips = hr.clips.map((c) => h('li', {},
    h('a', { href: `#/clip/${c.jpeg.replace(/_heatmap\.jpg$/, '')}` }, c.name)));
  setView(`Hour ${dayId} ${String(hour).padStart(2, '0')}:00 UTC`,
    h('div', { class: 'pager' },
      h('a', { href: `#/day/${dayId}` }, `day ${dayId}`)),
    h('section', { class: 'day-map' },
      hr.has_map ? heatImage(`${base}.jpg`, `hour heatmap ${id}`)
                 : h('p', { class: 'note' }, 'No hour map.'),
      summary(sidecar)),
    h('h2', {}, `Clips (${hr.clips.length})`),
    clips.length ? h('ul', { class: 'clips' }, clips) : h('p', { class: 'note' }, 'No clips.'));
}

async function clipView(stem) {
  const sidecar = await api.getJsonOrNull(api.fileUrl(`${stem}_heatmap.json`));
  const dir = stem.slice(0, stem.lastIndexOf('/'));
  const name = stem.slice(stem.lastIndexOf('/') + 1);
  const files = (sidecar && sidecar.files) || {};
  const link = (file, label) => (file ? h('a', { href: api.fileUrl(`${dir}/${file}`), download: file }, label) : null);
  const parts = dir.split('/');
  setView(name,
    h('div', { class: 'pager' },
      parts.length >= 4 ? h('a', { href: `#/hour/${parts[0]}-${parts[1]}-${parts[2]}T${parts[3]}` }, 'hour') : null,
      link(files.png, 'raw counts (PNG)'), link(files.csv, 'zones (CSV)'),
      h('a', { href: api.fileUrl(`${stem}_heatmap.json`), download: `${name}_heatmap.json` }, 'sidecar (JSON)')),
    h('section', { class: 'day-map' }, heatImage(`${stem}_heatmap.jpg`, `clip heatmap ${name}`),
      summary(sidecar)),
    files.scene ? h('details', {}, h('summary', {}, 'Learned empty scene'),
      heatImage(`${dir}/${files.scene}`, 'empty scene', 'scene')) : null);
}

async function periodView(id) {
  const base = api.rollupBase(id);
  const sidecar = await api.getJsonOrNull(api.fileUrl(`${base}.json`));
  const kind = api.periodKind(id);
  setView(`${kind === 'week' ? 'Week' : 'Month'} ${id}`,
    h('div', { class: 'pager' },
      kind === 'month' ? h('a', { href: `#/month/${id}` }, 'calendar') : h('a', { href: '#/weeks' }, 'all weeks')),
    h('section', { class: 'day-map' },
      sidecar ? heatImage(`${base}.jpg`, `${kind} heatmap ${id}`)
              : h('p', { class: 'note' }, `No ${kind} map for ${id}.`),
      summary(sidecar)));
}

async function weeksView() {
  const index = await api.months();
  setView('Weeks', index.weeks.length
    ? h('ul', { class: 'weeks' }, index.weeks.map((w) => h('li', {}, h('a', { href: `#/period/${w}` }, w))))
    : h('p', { class: 'note' }, 'No week maps yet.'));
}

async function compareView(a, b) {
  const index = await api.months();
  const known = h('datalist', { id: 'periods' },
    [...index.months, ...index.weeks].map((p) => h('option', { value: p })));
  const form = h('form', { class: 'compare-form' },
    h('label', {}, 'A ', h('input', { name: 'a', value: a || '', list: 'periods', required: true,
      placeholder: '2025-10-20, 2025-W43, 2025-10 or 2025-10-20T13' })),
    h('label', {}, 'B ', h('input', { name: 'b', value: b || '', list: 'periods', required: true })),
    h('button', { type: 'submit' }, 'Compare'), known);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const fa = form.elements.a.value.trim(), fb = form.elements.b.value.trim();
    if (api.periodKind(fa) && api.periodKind(fb)) location.hash = `#/compare/${fa}/${fb}`;
  });
  if (!a || !b) return setView('Compare two periods', form);
  const result = await api.compare(a, b);
  const zones = (result.zones || []).map((z) => h('tr', { 'data-zone': z.name },
    h('th', {}, z.name), h('td', {}, pct(z.a)), h('td', {}, pct(z.b)), h('td', {}, pct(z.delta))));
  setView(`Compare ${a} with ${b}`, form,
    h('div', { class: 'compare' },
      h('figure', {}, heatImage(result.a_jpeg, `heatmap ${a}`), h('figcaption', {}, `A: ${a}`)),
      h('figure', {}, heatImage(result.b_jpeg, `heatmap ${b}`), h('figcaption', {}, `B: ${b}`)),
      h('figure', {}, heatImage(result.diff_jpeg, `difference ${b} against ${a}`),
        h('figcaption', {}, `B − A: red where ${b} was busier, blue where quieter`))),
    h('p', { class: 'note' }, `A and B share one colour scale: 0 to ${pct(result.scale_top)} of the observed time.`
      + (result.resampled ? ' The maps had different sizes; A was scaled to B.' : '')),
    zones.length ? h('table', { class: 'zones' },
      h('tr', {}, h('th', {}, 'Zone'), h('th', {}, 'A'), h('th', {}, 'B'), h('th', {}, 'B − A')), zones) : null);
}

// --- routing ---------------------------------------------------------------------------------

const keys = { prev: null, next: null };

async function route() {
  keys.prev = keys.next = null;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [name, ...rest] = parts;
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('active', a.dataset.nav === (name || 'calendar') ||
      (a.dataset.nav === 'calendar' && ['month', 'day', 'hour', 'clip'].includes(name)));
  try {
    if (!name) await calendarView(null);
    else if (name === 'month' && api.periodKind(rest[0]) === 'month') await calendarView(rest[0]);
    else if (name === 'day' && api.periodKind(rest[0]) === 'day') await dayView(rest[0]);
    else if (name === 'hour' && api.periodKind(rest[0]) === 'hour') await hourView(rest[0]);
    else if (name === 'clip' && rest.length >= 2) await clipView(rest.join('/'));
    else if (name === 'period' && ['week', 'month'].includes(api.periodKind(rest[0]))) await periodView(rest[0]);
    else if (name === 'weeks') await weeksView();
    else if (name === 'compare') await compareView(rest[0], rest[1]);
    else setView('Not found', h('p', { class: 'note' }, 'This link does not name a view.'));
  } catch (error) {
    setView('Something went wrong', h('p', { class: 'error' }, error.message));
  }
  document.body.dataset.ready = location.hash || '#/';
}

document.addEventListener('keydown', (event) => {
  if (event.target.closest('input, textarea, select') || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === 'ArrowLeft' && keys.prev) location.hash = keys.prev;
  else if (event.key === 'ArrowRight' && keys.next) location.hash = keys.next;
  else if (event.key === 'Escape') location.hash = '#/';
});
window.addEventListener('hashchange', route);
route();
