// Costs and usage: spend and tokens per day, by agent, provider and model, per month, and the
// workspace's usage stats, each chart with the table behind it.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { auth, get, qs } from '../api.js';
import { ErrorBox, Loading, num, usd, useLoad } from '../ui.js';
import { Bars, Columns } from '../charts.js';

function Table({ rows, keyName, keyLabel }) {
  return html`<details class="table"><summary>Table</summary><table>
    <thead><tr><th>${keyLabel}</th><th>Requests</th><th>Tokens</th><th>Cost</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr><td>${r[keyName]}</td><td>${num(r.requests)}</td>
      <td>${num(r.totalTokens)}</td><td>${usd(r.costUsd)}</td></tr>`)}</tbody></table></details>`;
}

/** One entry per day from `from` to today (at least a week), zero where nothing was spent. */
function everyDay(byDay, from, to, pick) {
  const known = new Map(byDay.map((d) => [d.date, pick(d)]));
  const day = 86400000;
  const end = Math.min(Date.parse(to) || Date.now(), Date.now());
  const start = Math.min(Date.parse(from) || end, end - 6 * day);
  const out = [];
  for (let t = start; t <= end && out.length < 400; t += day) {
    const date = new Date(t).toISOString().slice(0, 10);
    out.push({ label: date, value: known.get(date) || 0 });
  }
  for (const [date, value] of known) if (!out.some((o) => o.label === date)) out.push({ label: date, value });
  return out.sort((a, b) => a.label.localeCompare(b.label));
}

export function Costs() {
  const [months, setMonths] = useState('1');
  const [data, error] = useLoad(() => Promise.all([
    get(`/costs${qs({ months: 12 })}`),
    get(`/costs/breakdown${qs({ months })}`),
    get(`/workspaces/${encodeURIComponent(auth.workspaceId)}/stats${qs({ days: 30 })}`),
  ]), [months]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="costs" />`;
  const [summary, b, stats] = data;
  const days = everyDay(b.byDay, b.from, b.to, (d) => d.costUsd);
  const dayTokens = everyDay(b.byDay, b.from, b.to, (d) => d.totalTokens);
  return html`<div class="costs">
    <div class="toolbar"><h1>Costs</h1>
      <label>Period <select id="months" value=${months} onChange=${(e) => setMonths(e.target.value)}>
        <option value="1">this month</option><option value="3">3 months</option><option value="12">12 months</option></select></label></div>
    <div class="cards">
      <div class="card"><span class="muted">Spend</span><strong id="total-cost">${usd(b.totalCostUsd)}</strong></div>
      <div class="card"><span class="muted">Tokens</span><strong>${num(b.totalTokens)}</strong></div>
      <div class="card"><span class="muted">Requests</span><strong>${num(b.requests)}</strong></div>
      <div class="card"><span class="muted">Sessions (30 d)</span><strong>${num(stats.sessions)}</strong></div>
    </div>
    <${Columns} id="chart-day-cost" title="Spend per day (USD)" data=${days} format=${usd} />
    <${Table} rows=${b.byDay} keyName="date" keyLabel="Day" />
    <${Columns} id="chart-day-tokens" title="Tokens per day" data=${dayTokens} format=${num} />
    <${Bars} id="chart-agent" title="Spend by agent" data=${b.byAgent.map((a) => ({ label: a.agentId, value: a.costUsd }))} format=${usd} />
    <${Table} rows=${b.byAgent} keyName="agentId" keyLabel="Agent" />
    <${Bars} id="chart-provider" title="Spend by provider" data=${b.byProvider.map((a) => ({ label: a.provider, value: a.costUsd }))} format=${usd} />
    <${Table} rows=${b.byProvider} keyName="provider" keyLabel="Provider" />
    <${Bars} id="chart-model" title="Tokens by model" data=${b.byModel.map((a) => ({ label: a.model, value: a.totalTokens }))} format=${num} />
    <${Table} rows=${b.byModel} keyName="model" keyLabel="Model" />
    <${Columns} id="chart-month" title="Spend per month (USD)" data=${summary.byMonth.map((m) => ({ label: m.month, value: m.costUsd }))} format=${usd} />
    <${Table} rows=${summary.byMonth} keyName="month" keyLabel="Month" />
  </div>`;
}
