// Traces: the list of turns, and a waterfall per turn (inference calls with their attempts
// and retries, tool calls) with latency and tokens.
import { html } from '../html.js';
import { get, qs } from '../api.js';
import { ErrorBox, Loading, ms, num, usd, useLoad, when } from '../ui.js';

/** Waterfall rows: `{label, kind, start, dur, note}` in ms from the turn's start. */
function rowsOf(t) {
  const d = t.detail || {};
  const t0 = Date.parse(t.startedAt);
  const rows = [];
  let cursor = 0;
  const at = (s, dur) => {
    const start = s ? Math.max(0, Date.parse(s) - t0) : cursor;
    cursor = Math.max(cursor, start + dur);
    return start;
  };
  const items = [
    ...(d.inference || []).map((i) => ({ type: 'inference', s: i.startedAt, x: i })),
    ...(d.tools || []).map((x) => ({ type: 'tool', s: x.startedAt, x })),
    ...(d.failedAttempts || []).map((x) => ({ type: 'failed', s: x.startedAt, x })),
  ].sort((a, b) => (a.s && b.s ? Date.parse(a.s) - Date.parse(b.s) : 0));
  for (const { type, x } of items) {
    if (type === 'inference') {
      const start = at(x.startedAt, x.latencyMs);
      for (const a of (x.attempts || []).filter((a) => a.outcome !== 'ok' && a.outcome !== 'success')) {
        rows.push({ label: `retry ${a.attempt} ${a.provider}/${a.model}`, kind: 'retry', start: a.startedAt ? Math.max(0, Date.parse(a.startedAt) - t0) : start, dur: a.latencyMs, note: `${a.outcome}${a.httpStatus ? ` ${a.httpStatus}` : ''}${a.error ? ` · ${a.error}` : ''}` });
      }
      rows.push({ label: `${x.purpose || 'inference'} · round ${x.round} · ${x.provider}/${x.model}`, kind: 'inference', start, dur: x.latencyMs,
        note: `${num(x.promptTokens)} + ${num(x.completionTokens)} tokens${x.costUsd ? ` · ${usd(x.costUsd)}` : ''}${x.finishReason ? ` · ${x.finishReason}` : ''}` });
    } else if (type === 'tool') {
      rows.push({ label: `tool ${x.name}${x.round !== undefined && x.round !== null ? ` · round ${x.round}` : ''}`, kind: x.error ? 'error' : 'tool', start: at(x.startedAt, x.durationMs), dur: x.durationMs, note: x.error || (x.cached ? 'cached' : '') });
    } else {
      rows.push({ label: `failed ${x.provider}/${x.model}`, kind: 'error', start: at(x.startedAt, x.latencyMs), dur: x.latencyMs, note: x.error || x.outcome });
    }
  }
  return rows;
}

function Waterfall({ trace }) {
  const rows = rowsOf(trace);
  const total = Math.max(trace.durationMs || 0, ...rows.map((r) => r.start + r.dur), 1);
  const W = 720, labelW = 260, rowH = 28, H = (rows.length + 2) * rowH;
  const x = (v) => labelW + (v / total) * (W - labelW - 3);
  return html`<figure class="waterfall" id="waterfall">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label="Waterfall of the turn">
      <title>Waterfall of the turn</title>
      <g class="span turn"><text x="0" y="18" class="tick">turn · ${trace.agentId} · ${ms(trace.durationMs)}</text>
        <rect x=${labelW} y="4" width=${W - labelW} height=${rowH - 10} /></g>
      ${rows.map((r, i) => html`<g class=${`span ${r.kind}`} data-kind=${r.kind}>
        <text x="0" y=${(i + 1) * rowH + 18} class="tick">${r.label.length > 40 ? `${r.label.slice(0, 39)}…` : r.label}</text>
        <rect x=${x(r.start)} y=${(i + 1) * rowH + 4} width=${Math.max(3, x(r.start + r.dur) - x(r.start))} height=${rowH - 10}><title>${r.label}: ${ms(r.dur)} ${r.note}</title></rect></g>`)}
      ${[0, 0.5, 1].map((f) => html`<text x=${labelW + f * (W - labelW) - (f === 1 ? 40 : 0)} y=${H - 2} class="tick">${Math.round(f * total)} ms</text>`)}
    </svg>
    <figcaption>Total ${ms(trace.durationMs)} · ${num(trace.promptTokens)} prompt + ${num(trace.completionTokens)} completion tokens · ${usd(trace.costUsd)}</figcaption>
    <table><thead><tr><th>Span</th><th>Start</th><th>Duration</th><th>Detail</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${r.label}</td><td>${ms(r.start)}</td><td>${ms(r.dur)}</td><td>${r.note}</td></tr>`)}</tbody></table>
  </figure>`;
}

function Detail({ id }) {
  const [t, error] = useLoad(() => get(`/traces/${encodeURIComponent(id)}`), [id]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!t) return html`<${Loading} what="trace" />`;
  return html`<div><p><a href="#/traces">← Traces</a></p>
    <h1>Trace <small class="muted">${t.id}</small></h1>
    <p>${t.status}${t.error ? ` · ${t.error}` : ''} · ${when(t.startedAt)} · session ${t.sessionId ? html`<a href=${`#/sessions/${encodeURIComponent(t.sessionId)}`}>${t.sessionId}</a>` : '—'}</p>
    <${Waterfall} trace=${t} /></div>`;
}

export function Traces({ args }) {
  const [id] = args || [];
  const [page, error] = useLoad(() => (id ? Promise.resolve(null) : get(`/traces${qs({ limit: 50 })}`)), [id]);
  if (id) return html`<${Detail} id=${decodeURIComponent(id)} />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!page) return html`<${Loading} what="traces" />`;
  return html`<div><h1>Traces</h1>
    ${page.items.length === 0 && html`<p class="muted">No turns yet: chat with an agent first.</p>`}
    <table class="list" id="trace-list"><thead><tr><th>Started</th><th>Agent</th><th>Status</th><th>Duration</th><th>Tokens</th><th>Cost</th></tr></thead>
    <tbody>${page.items.map((t) => html`<tr>
      <td><a href=${`#/traces/${encodeURIComponent(t.id)}`}>${when(t.startedAt)}</a></td><td>${t.agentId}</td>
      <td>${t.status}</td><td>${ms(t.durationMs)}</td><td>${num(t.totalTokens)}</td><td>${usd(t.costUsd)}</td></tr>`)}</tbody></table></div>`;
}
