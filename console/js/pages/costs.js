// Costs and usage: spend per day stacked by model, tokens per day, by agent, provider and model, per month, the
// workspace's usage stats, and the caller's monthly token budget burn-down (GET
// /users/me/usage), each chart with the table behind it.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { auth, get, qs } from '../api.js';
import { ErrorBox, Loading, num, usd, useLoad } from '../ui.js';
import { Bars, BurnDown, Columns, StackedColumns } from '../charts.js';

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

/** The caller's monthly token budget: cards, the cumulative burn-down and its table. */
function Budget({ u }) {
  const [y, m] = u.month.split('-').map(Number);
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const budget = u.monthlyTokenBudget;
  const share = budget ? Math.min(100, Math.round(((u.monthlyTokensUsed + u.monthlyTokensReserved) / budget) * 100)) : null;
  return html`<section aria-label="Monthly token budget" id="budget"><h2>Your monthly token budget (${u.month})</h2>
    <div class="cards">
      <div class="card"><span class="muted">Budget</span><strong id="budget-total">${budget ? num(budget) : 'unlimited'}</strong></div>
      <div class="card"><span class="muted">Used</span><strong id="budget-used">${num(u.monthlyTokensUsed)}</strong></div>
      <div class="card"><span class="muted">Reserved by running turns</span><strong>${num(u.monthlyTokensReserved)}</strong></div>
      <div class="card"><span class="muted">Remaining</span><strong id="budget-remaining">${budget ? `${num(u.monthlyTokensRemaining)} (${100 - share}%)` : '—'}</strong></div>
    </div>
    <${BurnDown} id="chart-budget" title="Tokens used this month, cumulative, against the budget" daysInMonth=${daysInMonth}
      budget=${budget} days=${u.byDay.map((d) => ({ label: d.date, value: d.cumulativeTokens }))} format=${num} />
    <details class="table"><summary>Table</summary><table id="budget-table">
      <thead><tr><th>Day</th><th>Tokens</th><th>Cumulative</th><th>Budget left</th><th>Requests</th><th>Cost</th></tr></thead>
      <tbody>${u.byDay.map((d) => html`<tr><td>${d.date}</td><td>${num(d.tokens)}</td><td>${num(d.cumulativeTokens)}</td>
        <td>${budget ? num(Math.max(0, budget - d.cumulativeTokens)) : '—'}</td><td>${num(d.requests)}</td><td>${usd(d.costUsd)}</td></tr>`)}</tbody></table></details>
    <p class="muted">The budget counts your tokens in every workspace; "Used" is the counter the budget check reads, the chart sums your usage records per day (UTC).</p>
  </section>`;
}

export function Costs() {
  const [months, setMonths] = useState('1');
  const [data, error] = useLoad(() => Promise.all([
    get(`/costs${qs({ months: 12 })}`),
    get(`/costs/breakdown${qs({ months })}`),
    get(`/workspaces/${encodeURIComponent(auth.workspaceId)}/stats${qs({ days: 30 })}`),
    get('/users/me/usage'),
  ]), [months]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="costs" />`;
  const [summary, b, stats, usage] = data;
  // Each day's spend split by model, for the stacked chart (a day without usage has no parts).
  const dayModels = new Map(b.byDay.map((d) => [d.date, d.byModel || []]));
  const days = everyDay(b.byDay, b.from, b.to, (d) => d.costUsd).map((d) => ({
    ...d,
    parts: (dayModels.get(d.label) || []).map((m) => ({ key: `${m.provider}/${m.model}`, value: m.costUsd })),
  }));
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
    <${StackedColumns} id="chart-day-cost" title="Spend per day by model (USD)" data=${days} format=${usd} />
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
    <${Budget} u=${usage} />
  </div>`;
}
