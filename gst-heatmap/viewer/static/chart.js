// chart.js: per-zone activity per hour as an SVG line chart, drawn by the page (no library).

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

// series: Map zone name -> Array(24) of activity fractions (null = hour not observed).
export function zoneChart(series) {
  const width = 720, height = 260, left = 48, right = 120, top = 12, bottom = 32;
  const plotW = width - left - right, plotH = height - top - bottom;
  let max = 0;
  for (const values of series.values()) for (const v of values) if (v !== null) max = Math.max(max, v);
  max = max > 0 ? max * 1.1 : 0.01;
  const x = (h) => left + (h / 23) * plotW;
  const y = (v) => top + plotH - (v / max) * plotH;

  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'zone-chart', role: 'img',
                          'aria-label': 'zone activity per hour' });
  for (let i = 0; i <= 4; ++i) {
    const v = (max * i) / 4;
    svg.append(el('line', { x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' },
                  `${(v * 100).toFixed(v * 100 < 10 ? 1 : 0)}%`));
  }
  for (let h = 0; h < 24; h += 3)
    svg.append(el('text', { x: x(h), y: height - 10, class: 'tick', 'text-anchor': 'middle' },
                  `${String(h).padStart(2, '0')}h`));

  let i = 0;
  for (const [name, values] of series) {
    const colour = COLOURS[i % COLOURS.length];
    const group = el('g', { class: 'zone-series', 'data-zone': name });
    let path = '';
    values.forEach((v, h) => {
      if (v === null) return;
      path += `${path && values[h - 1] !== null ? 'L' : 'M'}${x(h).toFixed(1)},${y(v).toFixed(1)}`;
    });
    group.append(el('path', { d: path, stroke: colour, fill: 'none', 'stroke-width': 2 }));
    values.forEach((v, h) => {
      if (v === null) return;
      const dot = el('circle', { cx: x(h), cy: y(v), r: 3, fill: colour, 'data-hour': h,
                                 'data-value': v });
      dot.append(el('title', {}, `${name} ${String(h).padStart(2, '0')}:00 ${(v * 100).toFixed(2)}%`));
      group.append(dot);
    });
    svg.append(group);
    svg.append(el('text', { x: left + plotW + 10, y: top + 14 + i * 16, fill: colour, class: 'legend' },
                  name));
    ++i;
  }
  return svg;
}
