// Small shared pieces: error banner, labelled fields, async loading hook, formatting.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { html } from './html.js';

/** Loads `fn()` when `deps` change; returns [data, error, reload]. */
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null });
  const load = useCallback(() => {
    let live = true;
    fn().then((data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }));
    return () => { live = false; };
  }, deps);
  useEffect(load, [load]);
  return [state.data, state.error, load];
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.code ? `${error.code}: ` : ''}${error.message}</p>`;
}

export function Loading({ what }) {
  return html`<p class="muted" aria-busy="true">Loading ${what || ''}…</p>`;
}

/** A labelled input; shows `errors[name]` under it. */
export function Field({ label, name, value, onInput, errors, type = 'text', textarea, options, hint, ...rest }) {
  const id = `f-${name.replace(/[^a-zA-Z0-9]/g, '-')}`;
  const err = errors && errors[name];
  const common = {
    id, name, 'aria-invalid': err ? 'true' : 'false',
    'aria-describedby': err ? `${id}-err` : undefined,
    onInput: (e) => onInput(e.target.value), ...rest,
  };
  let control;
  if (options) {
    control = html`<select ...${common} value=${value} onChange=${(e) => onInput(e.target.value)}>
      ${options.map((o) => html`<option value=${o}>${o}</option>`)}</select>`;
  } else if (textarea) {
    control = html`<textarea ...${common} rows="6" value=${value}></textarea>`;
  } else {
    control = html`<input ...${common} type=${type} value=${value} />`;
  }
  return html`<div class="field">
    <label for=${id}>${label}</label>${control}
    ${hint && html`<small class="muted">${hint}</small>`}
    ${err && html`<small class="field-error" id=${`${id}-err`}>${err}</small>`}
  </div>`;
}

export const usd = (n) => `$${(n || 0).toFixed(n && n < 0.01 ? 6 : 4)}`;
export const num = (n) => (n || 0).toLocaleString('en-US');
export const when = (t) => (t ? new Date(t).toLocaleString() : '—');
export const ms = (n) => (n === null || n === undefined ? '—' : `${n} ms`);
