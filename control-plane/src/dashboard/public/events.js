// The recent-events panel: the last events of the stream (newest first), kept for the tab
// while views change, drawn at most four times a second however fast they come.
import { useEffect, useState } from 'preact/hooks';
import { onConnection, onEvent } from './api.js';
import { href, html } from './ui.js';

const KEEP = 200;
const recent = [];
let seen = 0;
onEvent((event) => {
  if (event.type === 'Resync') return;
  seen++;
  recent.unshift({ ...event, n: seen });
  if (recent.length > KEEP) recent.length = KEEP;
});

const TONES = {
  RolloutHalted: 'bad',
  FleetError: 'bad',
  ClusterDisconnected: 'idle',
  RolloutComplete: 'good',
  Promoted: 'busy',
};

function Subject({ e }) {
  const parts = [];
  if (e.fleet) parts.push(html`<a href=${href('fleets', e.fleet)}>${e.fleet}</a>`);
  if (e.stage) parts.push(html`<span>stage ${e.stage}</span>`);
  if (e.cluster)
    parts.push(
      e.fleet
        ? html`<a href=${href('fleets', e.fleet, 'clusters', e.cluster)}>${e.cluster}</a>`
        : html`<a href=${href('clusters', e.cluster)}>${e.cluster}</a>`,
    );
  return html`<span class="subject">${parts.map((p, i) => html`${i ? ' · ' : ''}${p}`)}</span>`;
}

export function EventsPanel({ open }) {
  const [, setTick] = useState(0);
  const [connection, setConnection] = useState({ state: 'closed' });
  useEffect(() => {
    // At once, then at most every 250 ms while events keep coming.
    let timer;
    let last = 0;
    const draw = () => {
      timer = undefined;
      last = performance.now();
      setTick((t) => t + 1);
    };
    const off = onEvent(() => {
      if (timer !== undefined) return;
      timer = setTimeout(draw, Math.max(0, last + 250 - performance.now()));
    });
    const offConnection = onConnection(setConnection);
    return () => {
      clearTimeout(timer);
      off();
      offConnection();
    };
  }, []);
  const live = connection.state === 'live';
  return html`<aside id="events" class="events" aria-labelledby="events-title" hidden=${!open}>
    <h2 id="events-title">Recent events</h2>
    <p class=${`badge ${live ? 'tone-good' : 'tone-warn'}`} role="status" data-testid="stream" data-state=${connection.state}>
      <span aria-hidden="true">${live ? '●' : '○'}</span> ${live ? 'live' : connection.state}${connection.detail ? `: ${connection.detail}` : ''}
    </p>
    ${recent.length === 0 ? html`<p class="muted">Nothing yet: events appear here as they happen.</p>` : ''}
    <ol class="event-list" aria-live="off">
      ${recent.map(
        (e) => html`<li key=${e.n} data-type=${e.type}>
          <span class="time">${e.time ? new Date(e.time).toLocaleTimeString() : ''}</span>
          <span class=${`badge tone-${TONES[e.type] ?? 'idle'}`}>${e.type}</span>
          <${Subject} e=${e} />
          ${e.phase && !e.reason ? html`<span>${e.phase}</span>` : ''}
          ${e.revision ? html`<code>${e.revision.slice(0, 7)}</code>` : ''}
          ${e.reason ? html`<span class="reason">${e.reason}</span>` : ''}
        </li>`,
      )}
    </ol>
  </aside>`;
}
