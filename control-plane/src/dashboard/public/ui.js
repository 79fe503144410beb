// Shared pieces of the views: the `html` template tag (htm over Preact), data that reloads
// itself on events, and small components (phase badges, revisions, pagers, messages).
import htm from 'htm';
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { eventMarkOf, onEvent } from './api.js';
import { commitUrl, phaseOf, replayAfter, shortRev } from './format.js';

export const html = htm.bind(h);

/** `#/fleets/a b` → the href for it, each segment encoded. */
export const href = (...segments) => `#/${segments.map(encodeURIComponent).join('/')}`;

/**
 * Loads `load()` now and again after each event `matches` accepts (and after the event
 * stream reconnects), coalesced: at most one load runs, the next one waits at least twice as
 * long as the last one took (so 10,000 StatusChanged events cost a few reloads, not 10,000).
 * `patch(data, event)`, when given, applies an event to the data at once (undefined: no change).
 * A load that answers with the id of the newest event it includes (eventMarkOf) gets the
 * events patched since then applied again on top: a reload read before an event arrived must
 * not take the page back to before it.
 */
export function useLive(load, deps, matches = () => true, patch = undefined) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const latest = useRef({ load, matches, patch });
  latest.current = { load, matches, patch };
  useEffect(() => {
    let alive = true;
    let timer;
    let running = false;
    let again = false;
    let last = 0;
    let cost = 0;
    // Events patched in, with ids, newest last: what a load's answer may not include yet.
    let patched = [];
    const replay = (data) => {
      const mark = eventMarkOf(data);
      const apply = latest.current.patch;
      if (!mark || !apply) return data;
      const replayed = replayAfter(data, mark, patched, apply);
      patched = replayed.newer;
      return replayed.data;
    };
    const run = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      const started = performance.now();
      try {
        const data = replay(await latest.current.load());
        if (alive) setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (alive) setState((s) => ({ ...s, error, loading: false }));
      }
      cost = performance.now() - started;
      last = performance.now();
      running = false;
      if (again && alive) {
        again = false;
        schedule();
      }
    };
    const schedule = () => {
      if (timer !== undefined || !alive) return;
      if (running) {
        again = true;
        return;
      }
      const wait = Math.max(0, last + Math.max(300, 2 * cost) - performance.now());
      timer = setTimeout(() => {
        timer = undefined;
        void run();
      }, wait);
    };
    setState({ data: undefined, error: undefined, loading: true });
    void run();
    const off = onEvent((event) => {
      if (event.type === 'Resync') return schedule();
      if (!latest.current.matches(event)) return;
      const apply = latest.current.patch;
      if (apply) {
        if (event.id) {
          patched.push(event);
          // Bounded: a load answers long before this many events pass.
          if (patched.length > 5000) patched = patched.slice(-2500);
        }
        setState((s) => {
          const data = s.data === undefined ? undefined : apply(s.data, event);
          return data === undefined ? s : { ...s, data };
        });
      }
      schedule();
    });
    return () => {
      alive = false;
      clearTimeout(timer);
      off();
    };
  }, deps);
  return state;
}

export function PhaseBadge({ phase }) {
  const p = phaseOf(phase);
  return html`<span class=${`badge tone-${p.tone}`}><span aria-hidden="true">${p.symbol}</span> ${phase ?? 'Unknown'}</span>`;
}

/** A revision, short, with the full one in its title; a link to the commit when the forge is known. */
export function Rev({ rev, repo }) {
  if (!rev) return html`<span class="rev muted">—</span>`;
  const url = commitUrl(repo, rev);
  const text = html`<code class="rev" title=${rev}>${shortRev(rev)}</code>`;
  return url
    ? html`<a href=${url} rel="noopener noreferrer" target="_blank" title=${`commit ${rev}`}>${text}</a>`
    : text;
}

export function Time({ iso }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  return html`<time datetime=${iso} title=${d.toString()}>${d.toLocaleString()}</time>`;
}

export function ErrorMessage({ error, title = 'Something went wrong' }) {
  if (!error) return null;
  return html`<div class="alert tone-bad" role="alert">
    <strong>${title}</strong>${error.code && error.code !== 'Error' ? html` <code>${error.code}</code>` : ''}
    <p>${error.message}</p>
  </div>`;
}

export function Loading({ what }) {
  return html`<p class="muted" role="status">Loading ${what}…</p>`;
}

/** Page n of a list: shows `from–to of total`, with buttons to move (and their labels for screen readers). */
export function Pager({ page, pageSize, total, onPage, label }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (total <= pageSize) return null;
  const from = page * pageSize + 1;
  const to = Math.min(total, (page + 1) * pageSize);
  return html`<nav class="pager" aria-label=${`${label} pages`}>
    <button type="button" disabled=${page === 0} onClick=${() => onPage(0)} aria-label="First page">«</button>
    <button type="button" disabled=${page === 0} onClick=${() => onPage(page - 1)} aria-label="Previous page">‹</button>
    <span aria-live="polite">${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}</span>
    <button type="button" disabled=${page >= pages - 1} onClick=${() => onPage(page + 1)} aria-label="Next page">›</button>
    <button type="button" disabled=${page >= pages - 1} onClick=${() => onPage(pages - 1)} aria-label="Last page">»</button>
  </nav>`;
}

/** Labels as `key=value` chips. */
export function Labels({ labels }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  return html`<ul class="labels" aria-label="labels">
    ${entries.map(([k, v]) => html`<li><code>${k}=${v}</code></li>`)}
  </ul>`;
}

export function Connection({ connected }) {
  return connected
    ? html`<span class="badge tone-good"><span aria-hidden="true">●</span> connected</span>`
    : html`<span class="badge tone-idle"><span aria-hidden="true">○</span> disconnected</span>`;
}

/** Marks (once) when a view first showed its data: read by bench/dashboard.ts. */
export function useMark(name, ready) {
  const done = useRef(false);
  useEffect(() => {
    if (!ready || done.current) return;
    done.current = true;
    requestAnimationFrame(() => performance.mark(name));
  }, [ready]);
}
