// Operations: webhooks with their deliveries, jobs, heartbeat monitors with their last runs,
// members and roles (list, add, change a role, remove), the workspace's provider and model
// restrictions (edited by owners and admins) and grants (pending ones to accept or decline).
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

const ROLES = ['owner', 'admin', 'member', 'viewer'];

function Members() {
  const ws = auth.workspaceId;
  const [stamp, setStamp] = useState(0);
  const [w] = useLoad(() => get(`/workspaces/${encodeURIComponent(ws)}`), [ws, stamp]);
  const [page, error] = useLoad(() => get(`/workspaces/${encodeURIComponent(ws)}/members${qs({ limit: 100 })}`), [ws, stamp]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const [err, setErr] = useState(null);
  const [done, setDone] = useState(null);
  const base = `/workspaces/${encodeURIComponent(ws)}/members`;
  const change = async (fn) => {
    setErr(null);
    setDone(null);
    try { setDone(await fn()); setStamp((s) => s + 1); } catch (x) { setErr(x); }
  };
  const add = (e) => {
    e.preventDefault();
    change(async () => { const m = await api('POST', base, { email, role }); setEmail(''); return `${m.email} is ${m.role}`; });
  };
  const setRoleOf = (m, r) => change(async () => { const out = await api('POST', base, { uid: m.userId, role: r }); return `${out.email} is ${out.role}`; });
  const remove = (m) => confirm(`Remove ${m.email} from this workspace?`)
    && change(async () => { await api('DELETE', `${base}/${encodeURIComponent(m.userId)}`); return `${m.email} was removed`; });
  const mine = w && (w.yourRole || w.role);
  const manager = mine === 'owner' || mine === 'admin';
  return html`<section aria-label="Members"><h2>Members and roles</h2>
    ${w && html`<p>Your role in ${w.name}: <strong id="your-role">${mine || '—'}</strong></p>`}
    <${ErrorBox} error=${error} />
    ${page && html`<table id="members"><caption class="muted">${page.total} member${page.total === 1 ? '' : 's'}</caption>
      <thead><tr><th>Email</th><th>Role</th><th>Since</th><th></th></tr></thead>
      <tbody>${page.items.map((m) => html`<tr data-user=${m.userId}><td>${m.email}</td>
        <td>${manager ? html`<label class="sr-only" for=${`role-${m.userId}`}>Role of ${m.email}</label>
          <select id=${`role-${m.userId}`} class="member-role" value=${m.role} onChange=${(e) => setRoleOf(m, e.target.value)}>
            ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>` : m.role}</td>
        <td>${when(m.createdAt)}</td>
        <td>${manager && html`<button class="link" onClick=${() => remove(m)}>Remove</button>`}</td></tr>`)}</tbody></table>`}
    ${manager && html`<form class="row" onSubmit=${add}>
      <${Field} label="Email" name="email" type="email" value=${email} onInput=${setEmail} errors=${err && err.details} required />
      <${Field} label="Role" name="role" value=${role} onInput=${setRole} options=${['member', 'viewer', 'admin', 'owner']} />
      <button type="submit">Add member</button></form>`}
    <${ErrorBox} error=${err} />${done && html`<p class="notice" role="status">${done}</p>`}</section>`;
}

const list = (v) => (v && v.length ? v.join(', ') : 'any');
const parseList = (s) => { const v = s.split(',').map((x) => x.trim()).filter(Boolean); return v.length ? v : null; };

function Restrictions() {
  const ws = auth.workspaceId;
  const [stamp, setStamp] = useState(0);
  const [w, error] = useLoad(() => get(`/workspaces/${encodeURIComponent(ws)}`), [ws, stamp]);
  const [edit, setEdit] = useState(null);
  const [err, setErr] = useState(null);
  const manager = w && (w.yourRole === 'owner' || w.yourRole === 'admin');
  const save = async (e) => {
    e.preventDefault();
    setErr(null);
    try {
      await api('PUT', `/workspaces/${encodeURIComponent(ws)}/restrictions`,
        { allowedProviders: parseList(edit.providers), allowedModels: parseList(edit.models) });
      setEdit(null);
      setStamp((x) => x + 1);
    } catch (x) { setErr(x); }
  };
  return html`<section aria-label="Restrictions"><h2>Restrictions</h2><${ErrorBox} error=${error} />
    ${w && html`<p id="restrictions">Restrictions: providers ${list(w.allowedProviders)}; models ${list(w.allowedModels)}</p>`}
    ${manager && !edit && html`<button class="secondary" id="edit-restrictions" onClick=${() => setEdit({
      providers: (w.allowedProviders || []).join(', '), models: (w.allowedModels || []).join(', ') })}>Edit restrictions</button>`}
    ${edit && html`<form class="row" onSubmit=${save}>
      <${Field} label="Allowed providers" name="allowedProviders" value=${edit.providers} onInput=${(v) => setEdit({ ...edit, providers: v })} errors=${err && err.details} hint="comma separated; empty for any" />
      <${Field} label="Allowed models" name="allowedModels" value=${edit.models} onInput=${(v) => setEdit({ ...edit, models: v })} errors=${err && err.details} hint="comma separated; empty for any" />
      <button type="submit">Save</button><button type="button" class="secondary" onClick=${() => setEdit(null)}>Cancel</button></form>`}
    <${ErrorBox} error=${err} /></section>`;
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
  return html`<div><h1>Operations</h1><${Webhooks} /><${Jobs} /><${Monitors} /><${Members} /><${Restrictions} /><${Grants} /></div>`;
}
