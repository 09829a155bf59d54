// Hand-drawn SVG charts: vertical bars over time (stacked or not) and horizontal bars by category. Each chart
// has a <title> and the table behind it is shown next to it, so nothing is only visual.
import { html } from './html.js';

const COLORS = ['#3b6fd8', '#d8823b', '#3ba86b', '#b43bd8', '#d83b5a', '#3bb8d8', '#8a8a3b'];
export const color = (i) => COLORS[i % COLORS.length];

/** Bars over `data: [{label, value}]`, e.g. spend per day. */
export function Columns({ title, data, format = String, id }) {
  const W = 640, H = 200, pad = 28;
  const max = Math.max(0, ...data.map((d) => d.value));
  const bw = data.length ? Math.min(48, (W - pad) / data.length) : 0;
  return html`<figure class="chart" id=${id}>
    <svg viewBox=${`0 0 ${W} ${H + 24}`} role="img" aria-label=${title}>
      <title>${title}</title>
      <line x1=${pad} y1=${H} x2=${W} y2=${H} class="axis" />
      <text x="0" y="12" class="tick">${format(max)}</text>
      ${data.map((d, i) => {
        const h = max > 0 ? (d.value / max) * (H - 20) : 0;
        return html`<g class="bar"><rect x=${pad + i * bw + 2} y=${H - h} width=${Math.max(1, bw - 4)} height=${h}
          fill=${color(0)} data-value=${d.value}><title>${d.label}: ${format(d.value)}</title></rect>
          ${(data.length <= 12 || i % Math.ceil(data.length / 8) === 0) && html`<text x=${pad + i * bw + bw / 2} y=${H + 16} class="tick" text-anchor="middle">${d.label.slice(5)}</text>`}</g>`;
      })}
    </svg><figcaption>${title}</figcaption></figure>`;
}

/**
 * Stacked bars over `data: [{label, value, parts: [{key, value}]}]`, e.g. spend per day stacked
 * by model, with a legend of the keys (drawn in the SVG: the CSP allows no inline styles).
 */
export function StackedColumns({ title, data, format = String, id }) {
  const W = 640, H = 200, pad = 28, perRow = 4, legendRow = 18;
  const keys = [...new Set(data.flatMap((d) => d.parts.map((p) => p.key)))];
  const max = Math.max(0, ...data.map((d) => d.value));
  const bw = data.length ? Math.min(48, (W - pad) / data.length) : 0;
  const scale = (v) => (max > 0 ? (v / max) * (H - 20) : 0);
  const legendH = Math.ceil(keys.length / perRow) * legendRow;
  return html`<figure class="chart" id=${id}>
    <svg viewBox=${`0 0 ${W} ${H + 28 + legendH}`} role="img" aria-label=${title}>
      <title>${title}</title>
      <line x1=${pad} y1=${H} x2=${W} y2=${H} class="axis" />
      <text x="0" y="12" class="tick">${format(max)}</text>
      ${data.map((d, i) => {
        let top = H;
        return html`<g class="bar">${d.parts.map((p) => {
          const h = scale(p.value);
          top -= h;
          return html`<rect x=${pad + i * bw + 2} y=${top} width=${Math.max(1, bw - 4)} height=${h}
            fill=${color(keys.indexOf(p.key))} data-key=${p.key} data-value=${p.value}>
            <title>${d.label} · ${p.key}: ${format(p.value)}</title></rect>`;
        })}
          ${(data.length <= 12 || i % Math.ceil(data.length / 8) === 0) && html`<text x=${pad + i * bw + bw / 2} y=${H + 16} class="tick" text-anchor="middle">${d.label.slice(5)}</text>`}</g>`;
      })}
      ${keys.map((k, i) => {
        const x = pad + (i % perRow) * ((W - pad) / perRow);
        const y = H + 28 + Math.floor(i / perRow) * legendRow;
        return html`<g class="legend"><rect x=${x} y=${y} width="10" height="10" fill=${color(i)} />
          <text x=${x + 14} y=${y + 9} class="tick">${k.slice(0, 24)}</text></g>`;
      })}
    </svg><figcaption>${title}</figcaption></figure>`;
}

/** Horizontal bars by category, e.g. spend by agent. */
export function Bars({ title, data, format = String, id }) {
  const W = 640, row = 26, label = 160;
  const max = Math.max(0, ...data.map((d) => d.value));
  const H = Math.max(row, data.length * row);
  return html`<figure class="chart" id=${id}>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${title}>
      <title>${title}</title>
      ${data.map((d, i) => {
        const w = max > 0 ? (d.value / max) * (W - label - 90) : 0;
        return html`<g class="bar"><text x="0" y=${i * row + 17} class="tick">${d.label.slice(0, 22)}</text>
          <rect x=${label} y=${i * row + 4} width=${w} height=${row - 8} fill=${color(i)} data-value=${d.value}>
          <title>${d.label}: ${format(d.value)}</title></rect>
          <text x=${label + w + 6} y=${i * row + 17} class="tick">${format(d.value)}</text></g>`;
      })}
    </svg><figcaption>${title}</figcaption></figure>`;
}

/**
 * Cumulative tokens of a month against its budget: `days: [{label, value}]` (value = tokens
 * from the 1st to the end of that day), `daysInMonth` for the x axis, `budget` (or null) as a
 * horizontal line, with the even pace from 0 to the budget as a dashed diagonal.
 */
export function BurnDown({ title, days, daysInMonth, budget, format = String, id }) {
  const W = 640, H = 200, pad = 28, top = 16;
  const last = days.length ? days[days.length - 1].value : 0;
  const max = Math.max(1, budget || 0, last);
  const x = (i) => pad + (i / Math.max(1, daysInMonth)) * (W - pad - 8);
  const y = (v) => H - (v / max) * (H - top);
  const points = [[x(0), y(0)], ...days.map((d, i) => [x(i + 1), y(d.value)])];
  return html`<figure class="chart" id=${id}>
    <svg viewBox=${`0 0 ${W} ${H + 24}`} role="img" aria-label=${title}>
      <title>${title}</title>
      <line x1=${pad} y1=${H} x2=${W} y2=${H} class="axis" />
      <text x="0" y="12" class="tick">${format(max)}</text>
      ${budget ? html`<line x1=${pad} y1=${y(budget)} x2=${x(daysInMonth)} y2=${y(budget)} class="budget" data-value=${budget}><title>Budget: ${format(budget)}</title></line>
        <line x1=${x(0)} y1=${y(0)} x2=${x(daysInMonth)} y2=${y(budget)} class="pace"><title>Even pace</title></line>` : null}
      <polyline class="used" fill="none" stroke=${color(0)} stroke-width="2" points=${points.map((p) => p.join(',')).join(' ')} />
      ${days.map((d, i) => html`<circle cx=${x(i + 1)} cy=${y(d.value)} r="3" fill=${color(0)} data-value=${d.value}><title>${d.label}: ${format(d.value)}</title></circle>`)}
      ${[1, Math.ceil(daysInMonth / 2), daysInMonth].map((n) => html`<text x=${x(n)} y=${H + 16} class="tick" text-anchor="middle">${n}</text>`)}
    </svg><figcaption>${title}</figcaption></figure>`;
}
