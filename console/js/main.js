// The console's shell: sign-in gate, workspace switcher, navigation (hash routes, so a
// reload keeps the page and no token or id ever needs to be in the path sent to the server).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { auth, get, api, resume, signOut } from './api.js';
import { ErrorBox } from './ui.js';
import { SignIn } from './pages/signin.js';
import { Chat } from './pages/chat.js';
import { Agents } from './pages/agents.js';
import { Costs } from './pages/costs.js';
import { Traces } from './pages/traces.js';
import { Sessions } from './pages/sessions.js';
import { Operations } from './pages/ops.js';

const PAGES = [
  ['chat', 'Chat', Chat],
  ['agents', 'Agents', Agents],
  ['sessions', 'Sessions', Sessions],
  ['costs', 'Costs', Costs],
  ['traces', 'Traces', Traces],
  ['ops', 'Operations', Operations],
];

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '').split('/');
}

function useAuth() {
  const [, tick] = useState(0);
  useEffect(() => auth.onChange(() => tick((n) => n + 1)), []);
  return auth;
}

function Onboard({ onDone }) {
  const [name, setName] = useState('My workspace');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const out = await api('POST', '/onboarding/setup', { workspaceName: name });
      auth.setWorkspace(out.workspace.id);
      onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<main class="narrow"><h1>Create your workspace</h1>
    <p>A workspace holds your agents, sessions and costs. Setup adds the starter agents.</p>
    <form onSubmit=${submit}>
      <div class="field"><label for="ws-name">Workspace name</label>
        <input id="ws-name" value=${name} onInput=${(e) => setName(e.target.value)} required /></div>
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy}>Create workspace</button>
    </form></main>`;
}

function Shell() {
  const [route, ...rest] = useHash();
  const [workspaces, setWorkspaces] = useState(null);
  const [error, setError] = useState(null);
  const [menu, setMenu] = useState(false);
  const load = () => get('/workspaces?limit=100').then((p) => {
    setWorkspaces(p.items);
    if (!p.items.some((w) => w.id === auth.workspaceId)) auth.setWorkspace(p.items[0] ? p.items[0].id : null);
  }, setError);
  useEffect(() => { load(); }, []);
  if (error) return html`<main><${ErrorBox} error=${error} /></main>`;
  if (!workspaces) return html`<main><p class="muted">Loading…</p></main>`;
  if (!workspaces.length || !auth.workspaceId) return html`<${Onboard} onDone=${load} />`;
  const page = PAGES.find(([id]) => id === route) || PAGES[0];
  const Page = page[2];
  return html`<div class="layout">
    <header class="top">
      <button class="menu" aria-expanded=${menu} aria-controls="nav" onClick=${() => setMenu(!menu)}>Menu</button>
      <strong class="brand">Astra</strong>
      <label class="ws">Workspace
        <select id="workspace" value=${auth.workspaceId} onChange=${(e) => auth.setWorkspace(e.target.value)}>
          ${workspaces.map((w) => html`<option value=${w.id}>${w.name}</option>`)}
        </select></label>
      <button id="sign-out" class="secondary" onClick=${() => signOut()}>Sign out</button>
    </header>
    <nav id="nav" class=${menu ? 'open' : ''} aria-label="Pages">
      ${PAGES.map(([id, label]) => html`<a href=${`#/${id}`} aria-current=${id === page[0] ? 'page' : undefined}
        onClick=${() => setMenu(false)}>${label}</a>`)}
    </nav>
    <main id="page" key=${`${auth.workspaceId}/${page[0]}`}><${Page} args=${rest} /></main>
  </div>`;
}

function App() {
  const a = useAuth();
  const [ready, setReady] = useState(false);
  useEffect(() => { resume().finally(() => setReady(true)); }, []);
  if (!ready) return html`<main><p class="muted">Loading…</p></main>`;
  return a.signedIn ? html`<${Shell} />` : html`<${SignIn} />`;
}

render(html`<${App} />`, document.getElementById('app'));
