// Chat playground: pick an agent, stream the reply over SSE (POST /agent/chat/stream),
// tool calls as collapsible cards, a stop button that cancels the turn (aborting the request
// ends the stream server-side), a new session (a fresh surfaceId), tokens and cost per reply.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { get, qs, stream } from '../api.js';
import { ErrorBox, num, usd, ms } from '../ui.js';

const newSurface = () => `console-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

function ToolCard({ tool }) {
  const status = tool.error ? 'error' : tool.done ? 'done' : 'running';
  return html`<details class=${`tool ${status}`} data-tool=${tool.name}>
    <summary><span class="badge">tool</span> ${tool.name} <span class="muted">${status}${tool.durationMs !== undefined ? ` · ${ms(tool.durationMs)}` : ''}</span></summary>
    <dl>
      <dt>Arguments</dt><dd><pre>${tool.arguments || '…'}</pre></dd>
      ${tool.result !== undefined && html`<dt>Result</dt><dd><pre>${tool.result}</pre></dd>`}
      ${tool.error && html`<dt>Error</dt><dd class="error">${tool.error}</dd>`}
    </dl>
  </details>`;
}

function Message({ m }) {
  return html`<article class=${`msg ${m.role}`} aria-label=${m.role === 'user' ? 'You' : 'Agent'}>
    <div class="who">${m.role === 'user' ? 'You' : m.agent}</div>
    ${(m.tools || []).map((t) => html`<${ToolCard} tool=${t} />`)}
    <div class="text">${m.content}${m.streaming && html`<span class="cursor" aria-hidden="true">▍</span>`}</div>
    ${m.error && html`<p class="error" role="alert">${m.error}</p>`}
    ${m.usage && html`<p class="usage muted">
      ${num(m.usage.promptTokens)} prompt + ${num(m.usage.completionTokens)} completion tokens
      ${m.cost !== undefined && html` · reply ${usd(m.cost)} · session ${usd(m.sessionCost)}`}</p>`}
    ${m.stopped && html`<p class="muted">Stopped.</p>`}
  </article>`;
}

export function Chat() {
  const [agents, setAgents] = useState(null);
  const [agentId, setAgentId] = useState('');
  const [surfaceId, setSurfaceId] = useState(() => sessionStorage.getItem('astra.surface') || newSurface());
  const [messages, setMessages] = useState([]);
  const [input, setInput] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef(null);
  const end = useRef(null);

  useEffect(() => {
    get('/agents?limit=100').then((p) => {
      setAgents(p.items);
      if (p.items.length) setAgentId((a) => a || p.items[0].id);
    }, setError);
  }, []);
  useEffect(() => { sessionStorage.setItem('astra.surface', surfaceId); }, [surfaceId]);
  useEffect(() => { if (end.current && end.current.scrollIntoView) end.current.scrollIntoView({ block: 'end' }); }, [messages]);

  const update = (fn) => setMessages((list) => {
    const copy = list.slice();
    copy[copy.length - 1] = fn({ ...copy[copy.length - 1] });
    return copy;
  });

  const send = async (e) => {
    e.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    setInput('');
    setError(null);
    setBusy(true);
    const agentName = (agents.find((a) => a.id === agentId) || {}).displayName || agentId;
    setMessages((l) => [...l, { role: 'user', content: text },
      { role: 'assistant', agent: agentName, content: '', tools: [], streaming: true }]);
    const ctrl = new AbortController();
    abort.current = ctrl;
    let sessionId = null;
    try {
      await stream('/agent/chat/stream', { message: text, agentId, surface: 'chat', surfaceId }, (name, d) => {
        if (name === 'session_resolved') sessionId = d.sessionId;
        else if (name === 'content') update((m) => ({ ...m, content: m.content + d.content }));
        else if (name === 'tool_call') update((m) => ({ ...m, tools: [...m.tools, { name: d.name, id: d.toolCallId, index: d.index }] }));
        else if (name === 'tool_call_complete') update((m) => ({ ...m, tools: m.tools.map((t) => (t.name === d.name && t.arguments === undefined && t.index === d.index ? { ...t, arguments: d.arguments } : t)) }));
        else if (name === 'tool_result') update((m) => {
          let hit = false;
          return { ...m, tools: m.tools.map((t) => {
            if (hit || t.done || t.name !== d.name) return t;
            hit = true;
            return { ...t, done: true, durationMs: d.durationMs, error: d.error };
          }) };
        });
        else if (name === 'done') { sessionId = d.sessionId; update((m) => ({ ...m, content: d.content || m.content, usage: d.usage, streaming: false })); }
        else if (name === 'error') update((m) => ({ ...m, error: `${d.code || 'ERROR'}: ${d.message}`, streaming: false }));
      }, ctrl.signal);
      if (sessionId) await details(sessionId, update);
    } catch (err) {
      if (err.name === 'AbortError') update((m) => ({ ...m, stopped: true }));
      else update((m) => ({ ...m, error: `${err.code || 'ERROR'}: ${err.message}` }));
    } finally {
      update((m) => ({ ...m, streaming: false }));
      abort.current = null;
      setBusy(false);
    }
  };

  const reset = () => { setSurfaceId(newSurface()); setMessages([]); };

  return html`<section class="chat">
    <div class="toolbar">
      <h1>Chat</h1>
      <label>Agent <select id="agent-pick" value=${agentId} onChange=${(e) => { setAgentId(e.target.value); reset(); }}>
        ${(agents || []).map((a) => html`<option value=${a.id}>${a.displayName} (${a.id})</option>`)}
      </select></label>
      <button class="secondary" id="new-session" onClick=${reset} disabled=${busy}>New session</button>
    </div>
    <${ErrorBox} error=${error} />
    <div class="messages" aria-live="polite">
      ${messages.length === 0 && html`<p class="muted">Say something to ${agentId || 'an agent'}. Tool calls show up as cards.</p>`}
      ${messages.map((m) => html`<${Message} m=${m} />`)}
      <div ref=${end}></div>
    </div>
    <form class="composer" onSubmit=${send}>
      <label for="chat-input" class="sr-only">Message</label>
      <textarea id="chat-input" rows="2" value=${input} maxlength="10000" placeholder="Message"
        onInput=${(e) => setInput(e.target.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey) send(e); }}></textarea>
      ${busy ? html`<button type="button" id="stop" class="danger" onClick=${() => abort.current && abort.current.abort()}>Stop</button>`
        : html`<button type="submit" id="send" disabled=${!agentId}>Send</button>`}
    </form>
  </section>`;
}

/** After a turn: tool results from the transcript, this reply's and the session's cost from traces. */
async function details(sessionId, update) {
  try {
    const [s, traces] = await Promise.all([
      get(`/sessions/${encodeURIComponent(sessionId)}${qs({ limit: 50 })}`),
      get(`/traces${qs({ limit: 100 })}`),
    ]);
    const results = {};
    for (const m of s.messages || []) if (m.role === 'tool' && m.toolCallId) results[m.toolCallId] = m.content;
    const mine = traces.items.filter((t) => t.sessionId === sessionId);
    const cost = mine.length ? mine[0].costUsd : 0;
    const sessionCost = mine.reduce((sum, t) => sum + (t.costUsd || 0), 0);
    update((m) => ({ ...m, cost, sessionCost,
      tools: m.tools.map((t) => (t.id && results[t.id] !== undefined ? { ...t, result: results[t.id] } : t)) }));
  } catch { /* the reply itself is already shown */ }
}
