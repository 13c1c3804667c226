// api.js: the viewer server's JSON API and the keys of heatmap objects under /file/.

async function getJson(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.json();
}

// Missing objects are normal (an hour without footage): null instead of an error.
export async function getJsonOrNull(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.json();
}

export const months = () => getJson('/api/months');
export const month = (id) => getJson(`/api/month/${id}`);
export const day = (id) => getJson(`/api/day/${id}`);
export const compare = (a, b) =>
  getJson(`/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);

// Object keys are relative to the heatmaps prefix; each path segment is percent-encoded.
export function fileUrl(rel) {
  return '/file/' + rel.split('/').map(encodeURIComponent).join('/');
}

const pad = (n) => String(n).padStart(2, '0');

// Period ids: 2025-10-20T13 (hour), 2025-10-20 (day), 2025-W43 (ISO week), 2025-10 (month).
export function periodKind(id) {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(id)) return 'hour';
  if (/^\d{4}-\d{2}-\d{2}$/.test(id)) return 'day';
  if (/^\d{4}-W\d{2}$/.test(id)) return 'week';
  if (/^\d{4}-\d{2}$/.test(id)) return 'month';
  return null;
}

// The rollup objects of a period, without extension: e.g. 2025/10/20/day_heatmap.
export function rollupBase(id) {
  switch (periodKind(id)) {
    case 'hour': return `${id.slice(0, 4)}/${id.slice(5, 7)}/${id.slice(8, 10)}/${id.slice(11, 13)}/hour_heatmap`;
    case 'day': return `${id.slice(0, 4)}/${id.slice(5, 7)}/${id.slice(8, 10)}/day_heatmap`;
    case 'week': return `weeks/${id}_heatmap`;
    case 'month': return `${id.slice(0, 4)}/${id.slice(5, 7)}/month_heatmap`;
    default: return null;
  }
}

export function hourId(dayId, hour) {
  return `${dayId}T${pad(hour)}`;
}

// Calendar arithmetic in UTC, as the bucket layout is.
export function shiftDay(dayId, delta) {
  const d = new Date(`${dayId}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + delta);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function shiftMonth(monthId, delta) {
  const d = new Date(`${monthId}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + delta);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
}

// ISO 8601 week of a day id, e.g. 2026-01-01 -> 2026-W01.
export function isoWeek(dayId) {
  const d = new Date(`${dayId}T00:00:00Z`);
  const dow = (d.getUTCDay() + 6) % 7; // Monday = 0
  d.setUTCDate(d.getUTCDate() - dow + 3); // the Thursday of this week decides the year
  const year = d.getUTCFullYear();
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round(((d - jan4) / 86400000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
  return `${year}-W${pad(week)}`;
}
