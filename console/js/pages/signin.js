// Sign in / register. The password goes to `<console>/session/*`, which answers with an access
// token (kept in memory) and sets the refresh cookie.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { signIn } from '../api.js';
import { ErrorBox, Field } from '../ui.js';

export function SignIn() {
  const [mode, setMode] = useState('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const register = mode === 'register';
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try { await signIn(email, password, register); } catch (err) { setError(err); setBusy(false); }
  };
  const errors = error ? error.details : {};
  return html`<main class="narrow">
    <h1>Astra console</h1>
    <div class="tabs" role="tablist">
      <button role="tab" aria-selected=${!register} onClick=${() => setMode('login')}>Sign in</button>
      <button role="tab" id="tab-register" aria-selected=${register} onClick=${() => setMode('register')}>Register</button>
    </div>
    <form onSubmit=${submit} aria-label=${register ? 'Register' : 'Sign in'}>
      <${Field} label="Email" name="email" type="email" value=${email} onInput=${setEmail} errors=${errors}
        autocomplete="username" required />
      <${Field} label="Password" name="password" type="password" value=${password} onInput=${setPassword}
        errors=${errors} autocomplete=${register ? 'new-password' : 'current-password'} required
        hint=${register ? '8 to 1024 characters' : undefined} />
      <${ErrorBox} error=${error} />
      <button type="submit" id="auth-submit" disabled=${busy}>${register ? 'Create account' : 'Sign in'}</button>
    </form>
  </main>`;
}
