// Sessions: list with filters (agent, status), full-text search over messages with the
// matches highlighted (as text: <mark> elements built from the split, never HTML), the
// transcript of one session, and handoff to another agent.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, get, qs } from '../api.js';
import { ErrorBox, Loading, useLoad, when } from '../ui.js';

function Highlight({ text, q }) {
  const terms = q.split(/\s+/).filter(Boolean).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!terms.length) return text;
  const re = new RegExp(`(${terms.join('|')})`, 'ig');
  return text.split(re).map((part, i) => (i % 2 ? html`<mark>${part}</mark>` : part));
}

function Transcript({ id }) {
  const [stamp, setStamp] = useState(0);
  const [s, error] = useLoad(() => get(`/sessions/${encodeURIComponent(id)}${qs({ limit: 200 })}`), [id, stamp]);
  const [target, setTarget] = useState('');
  const [err, setErr] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!s) return html`<${Loading} what="session" />`;
  const handoff = async (e) => {
    e.preventDefault();
    try { await api('POST', `/sessions/${encodeURIComponent(id)}/handoff`, { agentId: target }); setStamp((x) => x + 1); } catch (x) { setErr(x); }
  };
  return html`<div><p><a href="#/sessions">← Sessions</a></p>
    <h1>Session <small class="muted">${s.id}</small></h1>
    <p>${s.agentId} · ${s.status} · ${s.messageCount} messages · last active ${when(s.lastActiveAt)}</p>
    ${s.summary && html`<p class="muted">Summary: ${s.summary}</p>`}
    <div class="messages transcript">${(s.messages || []).map((m) => html`<article class=${`msg ${m.role}`}>
      <div class="who">${m.role}${m.name ? ` · ${m.name}` : ''} <span class="muted">${when(m.createdAt)}</span></div>
      ${(m.toolCalls || []).map((c) => html`<details class="tool"><summary><span class="badge">tool call</span> ${(c.function && c.function.name) || c.name || ''}</summary><pre>${JSON.stringify(c, null, 2)}</pre></details>`)}
      <div class="text">${m.content}</div></article>`)}</div>
    <form class="row" onSubmit=${handoff}><div class="field"><label for="handoff">Hand off to agent</label>
      <input id="handoff" value=${target} onInput=${(e) => setTarget(e.target.value)} required /></div>
      <button type="submit">Hand off</button></form>
    <${ErrorBox} error=${err} /></div>`;
}

export function Sessions({ args }) {
  const [id] = args || [];
  const [status, setStatus] = useState('');
  const [agent, setAgent] = useState('');
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [page, error] = useLoad(() => (id ? Promise.resolve(null) : get(`/sessions${qs({ status, limit: 100 })}`)), [id, status]);
  const [hits, hitError] = useLoad(() => (query ? get(`/sessions/search/messages${qs({ q: query, limit: 20 })}`) : Promise.resolve(null)), [query]);
  if (id) return html`<${Transcript} id=${decodeURIComponent(id)} />`;
  const items = page ? page.items.filter((s) => !agent || s.agentId === agent) : [];
  const agents = page ? [...new Set(page.items.map((s) => s.agentId))] : [];
  return html`<div><h1>Sessions</h1>
    <form class="row" role="search" onSubmit=${(e) => { e.preventDefault(); setQuery(q.trim()); }}>
      <div class="field"><label for="search">Search messages</label><input id="search" type="search" value=${q} onInput=${(e) => setQ(e.target.value)} /></div>
      <button type="submit">Search</button></form>
    <${ErrorBox} error=${hitError} />
    ${hits && html`<section aria-label="Search results"><h2>${hits.total} matches</h2><ul class="hits">
      ${hits.items.map((h) => html`<li><a href=${`#/sessions/${encodeURIComponent(h.sessionId)}`}>${h.agentId} · ${h.role} · ${when(h.createdAt)}</a>
        <p><${Highlight} text=${h.content.length > 400 ? `${h.content.slice(0, 400)}…` : h.content} q=${query} /></p></li>`)}</ul></section>`}
    <div class="row">
      <label>Status <select value=${status} onChange=${(e) => setStatus(e.target.value)}>
        <option value="">any</option><option value="active">active</option><option value="archived">archived</option></select></label>
      <label>Agent <select value=${agent} onChange=${(e) => setAgent(e.target.value)}>
        <option value="">any</option>${agents.map((a) => html`<option value=${a}>${a}</option>`)}</select></label>
    </div>
    <${ErrorBox} error=${error} />
    ${!page && !error ? html`<${Loading} what="sessions" />` : html`<table class="list"><thead><tr><th>Last active</th><th>Agent</th><th>Surface</th><th>Status</th><th>Messages</th></tr></thead>
      <tbody>${items.map((s) => html`<tr><td><a href=${`#/sessions/${encodeURIComponent(s.id)}`}>${when(s.lastActiveAt)}</a></td>
        <td>${s.agentId}</td><td>${s.surface}/${s.surfaceId}</td><td>${s.status}</td><td>${s.messageCount}</td></tr>`)}</tbody></table>`}
  </div>`;
}
