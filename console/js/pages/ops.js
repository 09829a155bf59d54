// Operations: webhooks with their deliveries, jobs, heartbeat monitors with their last runs,
// members (add with a role), the workspace's restrictions and grants (pending ones to accept
// or decline).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, auth, get, qs } from '../api.js';
import { ErrorBox, Field, Loading, ms, useLoad, when } from '../ui.js';

function Deliveries({ id }) {
  const [page, error] = useLoad(() => get(`/webhooks/${encodeURIComponent(id)}/deliveries${qs({ limit: 20 })}`), [id]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!page) return html`<${Loading} what="deliveries" />`;
  if (!page.items.length) return html`<p class="muted">No deliveries yet.</p>`;
  return html`<table><thead><tr><th>Event</th><th>Status</th><th>Attempts</th><th>HTTP</th><th>Next attempt</th><th>Error</th></tr></thead>
    <tbody>${page.items.map((d) => html`<tr><td>${d.event}</td><td>${d.status}</td><td>${d.attempts}</td>
      <td>${d.responseStatus ?? '—'}</td><td>${when(d.nextAttemptAt)}</td><td>${d.error || ''}</td></tr>`)}</tbody></table>`;
}

function Webhooks() {
  const [stamp, setStamp] = useState(0);
  const [page, error] = useLoad(() => get(`/webhooks${qs({ limit: 50 })}`), [stamp]);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const [err, setErr] = useState(null);
  const [secret, setSecret] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    setErr(null);
    try {
      const w = await api('POST', '/webhooks', { url, events: events.split(',').map((s) => s.trim()).filter(Boolean) });
      setSecret(w.secret);
      setUrl('');
      setStamp((s) => s + 1);
    } catch (x) { setErr(x); }
  };
  const act = async (method, path) => { try { await api(method, path); setStamp((s) => s + 1); } catch (x) { setErr(x); } };
  return html`<section aria-label="Webhooks"><h2>Webhooks</h2>
    <form class="row" onSubmit=${create}>
      <${Field} label="URL" name="url" type="url" value=${url} onInput=${setUrl} errors=${err && err.details} required />
      <${Field} label="Events" name="events" value=${events} onInput=${setEvents} errors=${err && err.details} hint="comma separated, * for all" />
      <button type="submit">Add webhook</button></form>
    <${ErrorBox} error=${err} />
    ${secret && html`<p class="notice">Signing secret (shown once): <code>${secret}</code></p>`}
    <${ErrorBox} error=${error} />
    ${page && page.items.map((w) => html`<details class="card-block"><summary>${w.url} <span class="muted">${w.active ? 'active' : 'inactive'} · ${w.events.join(', ')}</span></summary>
      <p><button class="link" onClick=${() => act('POST', `/webhooks/${encodeURIComponent(w.id)}/test`)}>Send test</button>
        <button class="link" onClick=${() => confirm('Delete this webhook?') && act('DELETE', `/webhooks/${encodeURIComponent(w.id)}`)}>Delete</button></p>
      <${Deliveries} id=${w.id} /></details>`)}
    ${page && !page.items.length && html`<p class="muted">No webhooks.</p>`}
  </section>`;
}

function Jobs() {
  const [page, error] = useLoad(() => get(`/jobs${qs({ limit: 50 })}`), []);
  return html`<section aria-label="Jobs"><h2>Jobs</h2><${ErrorBox} error=${error} />
    ${page && (page.items.length ? html`<table><thead><tr><th>Type</th><th>Status</th><th>Attempts</th><th>Run at</th><th>Finished</th><th>Error</th></tr></thead>
      <tbody>${page.items.map((j) => html`<tr><td>${j.type}</td><td>${j.status}</td><td>${j.attempts}/${j.maxRetries + 1}</td>
        <td>${when(j.runAt)}</td><td>${when(j.finishedAt)}</td><td>${j.error || ''}</td></tr>`)}</tbody></table>` : html`<p class="muted">No jobs.</p>`)}</section>`;
}

function Runs({ id }) {
  const [page] = useLoad(() => get(`/heartbeat/${encodeURIComponent(id)}/runs${qs({ limit: 10 })}`), [id]);
  if (!page) return null;
  return html`<table><thead><tr><th>Started</th><th>Status</th><th>Latency</th></tr></thead>
    <tbody>${page.items.map((r) => html`<tr><td>${when(r.startedAt)}</td><td>${r.status}</td><td>${ms(r.latencyMs)}</td></tr>`)}</tbody></table>`;
}

function Monitors() {
  const [page, error] = useLoad(() => get(`/heartbeat${qs({ limit: 50 })}`), []);
  return html`<section aria-label="Monitors"><h2>Heartbeat monitors</h2><${ErrorBox} error=${error} />
    ${page && !page.items.length && html`<p class="muted">No monitors.</p>`}
    ${page && page.items.map((m) => html`<details class="card-block"><summary>${m.name} <span class="muted">${m.type} · every ${m.intervalMinutes} min · last ${m.lastStatus || '—'} ${when(m.lastRunAt)}</span></summary>
      <${Runs} id=${m.id} /></details>`)}</section>`;
}

function Members() {
  const ws = auth.workspaceId;
  const [w] = useLoad(() => get(`/workspaces/${encodeURIComponent(ws)}`), [ws]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const [err, setErr] = useState(null);
  const [done, setDone] = useState(null);
  const add = async (e) => {
    e.preventDefault();
    setErr(null);
    try { const m = await api('POST', `/workspaces/${encodeURIComponent(ws)}/members`, { email, role }); setDone(`${m.email} is ${m.role}`); setEmail(''); } catch (x) { setErr(x); }
  };
  return html`<section aria-label="Members"><h2>Members and roles</h2>
    ${w && html`<p>Your role in ${w.name}: <strong>${w.yourRole || w.role || '—'}</strong></p>
      <p id="restrictions">Restrictions: providers ${w.allowedProviders && w.allowedProviders.length ? w.allowedProviders.join(', ') : 'any'};
        models ${w.allowedModels && w.allowedModels.length ? w.allowedModels.join(', ') : 'any'}</p>`}
    <form class="row" onSubmit=${add}>
      <${Field} label="Email" name="email" type="email" value=${email} onInput=${setEmail} errors=${err && err.details} required />
      <${Field} label="Role" name="role" value=${role} onInput=${setRole} options=${['member', 'viewer', 'admin', 'owner']} />
      <button type="submit">Add member</button></form>
    <${ErrorBox} error=${err} />${done && html`<p class="notice">${done}</p>`}</section>`;
}

function Grants() {
  const ws = auth.workspaceId;
  const [stamp, setStamp] = useState(0);
  const [list, error] = useLoad(() => get(`/workspaces/${encodeURIComponent(ws)}/grants${qs({ direction: 'incoming' })}`), [ws, stamp]);
  const [err, setErr] = useState(null);
  const act = async (g, what) => { try { await api('POST', `/workspaces/${encodeURIComponent(ws)}/grants/${encodeURIComponent(g.id)}/${what}`); setStamp((s) => s + 1); } catch (x) { setErr(x); } };
  return html`<section aria-label="Grants"><h2>Grants to this workspace</h2><${ErrorBox} error=${error || err} />
    ${list && !list.items.length && html`<p class="muted">No grants.</p>`}
    ${list && list.items.length > 0 && html`<table><thead><tr><th>Agent</th><th>From</th><th>Status</th><th>Expires</th><th></th></tr></thead>
      <tbody>${list.items.map((g) => html`<tr><td>${g.agentId}</td><td>${g.owningWorkspaceId || g.workspaceId || ''}</td><td>${g.status || ''}</td><td>${when(g.expiresAt)}</td>
        <td>${g.status === 'pending' && html`<button class="link" onClick=${() => act(g, 'accept')}>Accept</button><button class="link" onClick=${() => act(g, 'decline')}>Decline</button>`}</td></tr>`)}</tbody></table>`}
  </section>`;
}

export function Operations() {
  return html`<div><h1>Operations</h1><${Webhooks} /><${Jobs} /><${Monitors} /><${Members} /><${Grants} /></div>`;
}
