// The dashboard's entry: the login (a token or single sign-on, once per tab), the frame
// (header, menu, main view, recent events) and the routes, in the URL's fragment:
//   #/                                 fleets
//   #/fleets/NAME                      a fleet: conditions, errors, stages × clusters, promotions
//   #/fleets/NAME/clusters/CLUSTER     a fleet on one cluster: its objects
//   #/clusters                         clusters (label selector, connection)
//   #/clusters/NAME                    a cluster: labels, versions, connection, its fleets
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  finishSignIn,
  isSignInReturn,
  session,
  ssoSettings,
  startEvents,
  startSignIn,
  stopEvents,
  whenUnauthorized,
} from './api.js';
import { ClusterFleetView, ClusterList, ClusterView } from './clusters.js';
import { EventsPanel } from './events.js';
import { FleetList, FleetView } from './fleet.js';
import { ErrorMessage, href, html } from './ui.js';

function parseRoute(hash) {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts[0] === 'fleets' && parts[1] && parts[2] === 'clusters' && parts[3]) {
    return { view: 'cluster-fleet', fleet: parts[1], cluster: parts[3] };
  }
  if (parts[0] === 'fleets' && parts[1]) return { view: 'fleet', fleet: parts[1] };
  if (parts[0] === 'clusters' && parts[1]) return { view: 'cluster', cluster: parts[1] };
  if (parts[0] === 'clusters') return { view: 'clusters' };
  return { view: 'fleets' };
}

function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Login({ onLogin, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(undefined);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);
  // No button when the control plane takes tokens only (or cannot say): the token form remains.
  useEffect(() => {
    ssoSettings()
      .then(setSso)
      .catch(() => {});
  }, []);
  const signInWithSso = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await startSignIn(sso);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const caller = await api('GET', '/api/v1/whoami', undefined, token.trim());
      session.token = token.trim();
      session.caller = caller;
      onLogin(caller);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<main id="main" class="login">
    <h1><span class="logo" aria-hidden="true">⎈</span> gitfleet</h1>
    ${
      sso &&
      html`<form onSubmit=${signInWithSso} aria-describedby="sso-help">
        <button type="submit" class="primary" disabled=${busy}>Sign in with SSO</button>
        <p id="sso-help" class="muted">With your account at ${new URL(sso.issuer).host}.</p>
      </form>`
    }
    <form onSubmit=${submit} aria-describedby="login-help">
      <label for="token">API token</label>
      <input
        id="token"
        ref=${input}
        type="password"
        autocomplete="off"
        spellcheck="false"
        required
        value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)}
      />
      <p id="login-help" class="muted">
        An admin or viewer token of this control plane (GITFLEET_API_TOKENS). It is kept for this tab only.
      </p>
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    <${ErrorMessage} error=${error} title="Not signed in" />
  </main>`;
}

function Shell({ caller, onLogout }) {
  const route = useRoute();
  const main = useRef(null);
  const [eventsOpen, setEventsOpen] = useState(() => matchMedia('(min-width: 1100px)').matches);
  // A new view: focus its heading, so keyboard and screen-reader users start there.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector('h1')?.focus();
  }, [route.view, route.fleet, route.cluster]);
  let view;
  if (route.view === 'fleet') view = html`<${FleetView} name=${route.fleet} caller=${caller} />`;
  else if (route.view === 'cluster-fleet')
    view = html`<${ClusterFleetView} fleet=${route.fleet} cluster=${route.cluster} />`;
  else if (route.view === 'cluster') view = html`<${ClusterView} name=${route.cluster} />`;
  else if (route.view === 'clusters') view = html`<${ClusterList} />`;
  else view = html`<${FleetList} />`;
  const current = (v) =>
    route.view === v || (v === 'fleets' && route.view.includes('fleet')) ? 'page' : undefined;
  return html`<a class="skip" href="#main" onClick=${(e) => {
    e.preventDefault();
    main.current?.querySelector('h1')?.focus();
  }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/"><span class="logo" aria-hidden="true">⎈</span> gitfleet</a>
      <nav aria-label="Main">
        <a href="#/" aria-current=${current('fleets')}>Fleets</a>
        <a href="#/clusters" aria-current=${current('clusters')}>Clusters</a>
      </nav>
      <div class="who">
        <span data-testid="caller">
          <span class="muted">signed in as</span> <strong>${caller.name}</strong>${' '}
          ${
            caller.role === 'none'
              ? Object.entries(caller.projects ?? {}).map(
                  ([project, role]) =>
                    html`<span class=${`badge role-${role}`} data-project=${project}>${project}: ${role}</span> `,
                )
              : html`<span class=${`badge role-${caller.role}`}>${caller.role}</span>`
          }
        </span>
        <button type="button" onClick=${() => setEventsOpen(!eventsOpen)} aria-expanded=${eventsOpen} aria-controls="events">
          Events
        </button>
        <button type="button" onClick=${onLogout}>Sign out</button>
      </div>
    </header>
    <div class=${`layout ${eventsOpen ? 'with-events' : ''}`}>
      <main id="main" ref=${main}>${view}</main>
      <${EventsPanel} open=${eventsOpen} />
    </div>`;
}

// Read once, before the sign-in takes the provider's answer out of the address bar.
const signInReturn = isSignInReturn();

function App() {
  const [caller, setCaller] = useState(() => (session.token && !signInReturn ? session.caller : undefined));
  const [checking, setChecking] = useState(signInReturn || (Boolean(session.token) && !session.caller));
  const [notice, setNotice] = useState(undefined);
  useEffect(() => {
    whenUnauthorized((err) => {
      session.token = null;
      stopEvents();
      setCaller(undefined);
      setNotice(err);
    });
    // Back from the identity provider: its ID token is then the tab's token, as if pasted.
    if (signInReturn) {
      finishSignIn()
        .then(async (token) => {
          const c = await api('GET', '/api/v1/whoami', undefined, token);
          session.token = token;
          session.caller = c;
          setCaller(c);
        })
        .catch(setNotice)
        .finally(() => setChecking(false));
      return;
    }
    // A token kept by this tab: sign in with it again (a reload asks for nothing). The page is
    // drawn at once with who it was; a token revoked meanwhile sends back to the login.
    if (session.token) {
      api('GET', '/api/v1/whoami')
        .then((c) => {
          session.caller = c;
          setCaller((before) => (before?.name === c.name && before?.role === c.role ? before : c));
        })
        .catch((err) => {
          if (err.status === 401) {
            session.token = null;
            setCaller(undefined);
          }
          setNotice(err);
        })
        .finally(() => setChecking(false));
    }
  }, []);
  useEffect(() => {
    if (caller) startEvents();
    return () => stopEvents();
  }, [caller]);
  if (checking) return html`<p class="muted" role="status">Signing in…</p>`;
  if (!caller) return html`<${Login} onLogin=${setCaller} notice=${notice} />`;
  return html`<${Shell}
    caller=${caller}
    onLogout=${() => {
      session.token = null;
      setNotice(undefined);
      setCaller(undefined);
      location.hash = href();
    }}
  />`;
}

render(html`<${App} />`, document.getElementById('root'));
