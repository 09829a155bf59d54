// Agents: list, create and edit (a form over the agent schema; the API's `details` shown at
// their fields), capabilities, version history with a side-by-side diff, labels and rollback.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, get, qs } from '../api.js';
import { ErrorBox, Field, Loading, useLoad, when } from '../ui.js';
import { diffLines } from '../diff.js';

const TIERS = ['free', 'standard', 'premium'];
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

function toForm(a, template) {
  const model = (a || template || {}).model || {};
  return {
    id: a ? a.id : '', displayName: a ? a.displayName : '', tier: a ? a.tier : 'standard',
    provider: model.provider || '', modelId: model.modelId || '',
    temperature: a ? String(a.model.temperature) : '0.7', maxOutputTokens: a ? String(a.model.maxOutputTokens) : '1024',
    systemPromptTemplate: a ? a.systemPromptTemplate : 'You are a helpful assistant.',
    skills: a ? a.skills.join(', ') : '', allow: a ? a.tools.allow.join(', ') : '',
    deny: a ? a.tools.deny.join(', ') : '', maxToolRounds: a ? String(a.maxToolRounds) : '5',
  };
}

function toBody(f, creating) {
  const n = (v) => (v === '' ? null : Number(v));
  const body = {
    displayName: f.displayName, tier: f.tier, systemPromptTemplate: f.systemPromptTemplate,
    model: { provider: f.provider || null, modelId: f.modelId || null, temperature: n(f.temperature), maxOutputTokens: n(f.maxOutputTokens) },
    skills: list(f.skills), tools: { allow: list(f.allow), deny: list(f.deny) }, maxToolRounds: n(f.maxToolRounds),
  };
  if (creating) body.id = f.id;
  return body;
}

/** Field errors keyed by form field: `model.modelId` → `modelId`, `tools.allow` → `allow`. */
function fieldErrors(error) {
  const out = {};
  for (const [k, v] of Object.entries((error && error.details) || {})) {
    out[k.replace(/^(model|tools)\./, '')] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function AgentForm({ agent, template, onSaved }) {
  const creating = !agent;
  const [f, setF] = useState(() => toForm(agent, template));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setF({ ...f, [k]: v });
  const errors = fieldErrors(error);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = creating ? await api('POST', '/agents', toBody(f, true))
        : await api('PUT', `/agents/${encodeURIComponent(agent.id)}`, toBody(f, false));
      onSaved(saved);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<form class="agent-form" onSubmit=${submit} aria-label=${creating ? 'Create agent' : 'Edit agent'}>
    ${creating && html`<${Field} label="Id" name="id" value=${f.id} onInput=${set('id')} errors=${errors} required hint="lowercase letters, digits, -" />`}
    <${Field} label="Display name" name="displayName" value=${f.displayName} onInput=${set('displayName')} errors=${errors} />
    <${Field} label="Tier" name="tier" value=${f.tier} onInput=${set('tier')} errors=${errors} options=${TIERS} />
    <div class="row">
      <${Field} label="Provider" name="provider" value=${f.provider} onInput=${set('provider')} errors=${errors} hint="e.g. openai, anthropic" />
      <${Field} label="Model" name="modelId" value=${f.modelId} onInput=${set('modelId')} errors=${errors} />
    </div>
    <div class="row">
      <${Field} label="Temperature" name="temperature" type="number" step="0.1" value=${f.temperature} onInput=${set('temperature')} errors=${errors} />
      <${Field} label="Max output tokens" name="maxOutputTokens" type="number" value=${f.maxOutputTokens} onInput=${set('maxOutputTokens')} errors=${errors} />
      <${Field} label="Max tool rounds" name="maxToolRounds" type="number" value=${f.maxToolRounds} onInput=${set('maxToolRounds')} errors=${errors} />
    </div>
    <${Field} label="System prompt" name="systemPromptTemplate" textarea value=${f.systemPromptTemplate} onInput=${set('systemPromptTemplate')} errors=${errors} />
    <${Field} label="Skills" name="skills" value=${f.skills} onInput=${set('skills')} errors=${errors} hint="comma separated" />
    <div class="row">
      <${Field} label="Tools allowed" name="allow" value=${f.allow} onInput=${set('allow')} errors=${errors} hint="comma separated" />
      <${Field} label="Tools denied" name="deny" value=${f.deny} onInput=${set('deny')} errors=${errors} hint="comma separated" />
    </div>
    <${ErrorBox} error=${error} />
    <button type="submit" id="save-agent" disabled=${busy}>${creating ? 'Create agent' : 'Save (new version)'}</button>
  </form>`;
}

function Diff({ agentId, a, b }) {
  const [pair] = useLoad(() => Promise.all([a, b].map((v) => get(`/agents/${encodeURIComponent(agentId)}/versions/${v}`))), [agentId, a, b]);
  if (!pair) return html`<${Loading} what="versions" />`;
  const text = (v) => JSON.stringify(v.config || v, null, 2).split('\n');
  const rows = diffLines(text(pair[0]), text(pair[1]));
  return html`<table class="diff" aria-label=${`Diff of version ${a} and ${b}`}>
    <thead><tr><th scope="col">Version ${a}</th><th scope="col">Version ${b}</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr class=${r.kind}>
      <td class=${r.kind === 'del' || r.kind === 'chg' ? 'del' : ''}><pre>${r.left}</pre></td>
      <td class=${r.kind === 'add' || r.kind === 'chg' ? 'add' : ''}><pre>${r.right}</pre></td></tr>`)}</tbody>
  </table>`;
}

function Versions({ agent, onRolledBack, stamp }) {
  const [page, error, reload] = useLoad(() => get(`/agents/${encodeURIComponent(agent.id)}/versions${qs({ limit: 50 })}`), [agent.id, stamp]);
  const [pick, setPick] = useState([]);
  const [err, setErr] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!page) return html`<${Loading} what="versions" />`;
  const items = page.items;
  const shown = pick.length === 2 ? pick : items.length >= 2 ? [items[1].version, items[0].version] : [];
  const toggle = (v) => setPick((p) => (p.includes(v) ? p.filter((x) => x !== v) : [...p, v].slice(-2)).sort((x, y) => x - y));
  const rollback = async (v) => {
    try { onRolledBack(await api('POST', `/agents/${encodeURIComponent(agent.id)}/versions/${v}/rollback`)); } catch (e) { setErr(e); }
  };
  const label = async (v, current) => {
    const l = prompt('Label for this version', current || '');
    if (l === null) return;
    try { await api('PATCH', `/agents/${encodeURIComponent(agent.id)}/versions/${v}`, { label: l }); reload(); } catch (e) { setErr(e); }
  };
  return html`<section aria-label="Versions"><h2>Versions</h2>
    <${ErrorBox} error=${err} />
    <table class="versions"><thead><tr><th>Compare</th><th>Version</th><th>Label</th><th>Created</th><th></th></tr></thead>
    <tbody>${items.map((v) => html`<tr data-version=${v.version}>
      <td><input type="checkbox" aria-label=${`compare version ${v.version}`} checked=${shown.includes(v.version)} onChange=${() => toggle(v.version)} /></td>
      <td>${v.version}</td><td>${v.label || ''}</td><td>${when(v.createdAt)}</td>
      <td><button class="link" onClick=${() => label(v.version, v.label)}>Label</button>
        ${v.version !== agent.version && html`<button class="link" onClick=${() => rollback(v.version)}>Roll back</button>`}</td>
    </tr>`)}</tbody></table>
    ${shown.length === 2 ? html`<${Diff} agentId=${agent.id} a=${shown[0]} b=${shown[1]} />` : html`<p class="muted">Save a change to get a second version to compare.</p>`}
  </section>`;
}

function Capabilities({ id }) {
  const [c, error] = useLoad(() => get(`/agents/${encodeURIComponent(id)}/capabilities`), [id]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!c) return null;
  return html`<section aria-label="Capabilities"><h2>Capabilities</h2>
    <p>${c.tools.length ? c.tools.map((t) => t.name || t.id || JSON.stringify(t)).join(', ') : 'No tools.'}</p>
    ${c.skills.length > 0 && html`<p class="muted">Skills: ${c.skills.join(', ')}</p>`}</section>`;
}

function Edit({ id }) {
  const [stamp, setStamp] = useState(0);
  const [agent, error] = useLoad(() => get(`/agents/${encodeURIComponent(id)}`), [id, stamp]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!agent) return html`<${Loading} what="agent" />`;
  const del = async () => {
    if (!confirm(`Delete agent ${agent.id}?`)) return;
    await api('DELETE', `/agents/${encodeURIComponent(agent.id)}`);
    location.hash = '#/agents';
  };
  return html`<div>
    <p><a href="#/agents">← Agents</a></p>
    <h1>${agent.displayName} <small class="muted">${agent.id} · v${agent.version}</small></h1>
    ${agent.global ? html`<p class="muted">A global agent: read-only here.</p>`
      : html`<${AgentForm} key=${`${agent.id}@${agent.version}`} agent=${agent} onSaved=${() => setStamp((s) => s + 1)} />
        <button class="danger" onClick=${del}>Delete agent</button>`}
    <${Capabilities} id=${agent.id} />
    <${Versions} agent=${agent} stamp=${stamp} onRolledBack=${() => setStamp((s) => s + 1)} />
  </div>`;
}

export function Agents({ args }) {
  const [id] = args || [];
  const [page, error] = useLoad(() => get(`/agents${qs({ limit: 100 })}`), [id]);
  if (id === 'new') {
    if (!page && !error) return html`<${Loading} what="agents" />`;
    return html`<div><p><a href="#/agents">← Agents</a></p><h1>New agent</h1>
      <${AgentForm} template=${page && page.items[0]} onSaved=${(a) => { location.hash = `#/agents/${encodeURIComponent(a.id)}`; }} /></div>`;
  }
  if (id) return html`<${Edit} id=${decodeURIComponent(id)} />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!page) return html`<${Loading} what="agents" />`;
  return html`<div><div class="toolbar"><h1>Agents</h1><a class="button" href="#/agents/new">New agent</a></div>
    <table class="list"><thead><tr><th>Name</th><th>Id</th><th>Model</th><th>Tier</th><th>Version</th></tr></thead>
    <tbody>${page.items.map((a) => html`<tr>
      <td><a href=${`#/agents/${encodeURIComponent(a.id)}`}>${a.displayName}</a></td><td>${a.id}</td>
      <td>${a.model.provider}/${a.model.modelId}</td><td>${a.tier}</td><td>${a.version}${a.global ? ' (global)' : ''}</td></tr>`)}
    </tbody></table></div>`;
}
