// Clusters: the list (paged, filtered by label selector, connection and name), one cluster
// (labels, agent and Kubernetes version, connection, every fleet on it), and one fleet on one
// cluster (phase, revisions, each object's action and health with the API server's reason, and
// the drift the agent corrected: which fields, changed by whom, when; never their values).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from './api.js';
import { ago, count, driftRows } from './format.js';
import {
  Connection,
  ErrorMessage,
  href,
  html,
  Labels,
  Loading,
  Pager,
  PhaseBadge,
  Rev,
  Time,
  useLive,
  useMark,
} from './ui.js';

const ROWS_PER_PAGE = 100;
const enc = encodeURIComponent;

/** A time as `2 min ago`, the exact ISO time in its title. */
function Ago({ iso }) {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime=${iso} title=${iso}>${ago(iso)}</time>`;
}

/** The drift the agent put back, per object: the fields that had changed, who changed them, when. */
function DriftCorrections({ item }) {
  const rows = driftRows(item.objects);
  const total = item.driftCorrections ?? 0;
  return html`<section aria-labelledby="drift" data-testid="drift">
    <h2 id="drift">Drift corrected <span class="muted small" data-testid="drift-total">${count(total)} ${total === 1 ? 'correction' : 'corrections'} in all</span></h2>
    ${
      rows.length === 0
        ? html`<p class="muted">${total ? 'No object reports its last correction any more.' : 'None: nothing has changed what this fleet applied here.'}</p>`
        : html`<p class="muted small">The last correction of each object: the fields that differed from Git and the field managers that had written them (values are never reported).</p>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Drift corrected">
              <table class="drift">
                <thead><tr><th scope="col">Object</th><th scope="col">Changed fields</th><th scope="col">Changed by</th><th scope="col">Corrected</th></tr></thead>
                <tbody>
                  ${rows.map(
                    (r) => html`<tr key=${r.key} data-drift=${`${r.kind}/${r.name}`}>
                      <th scope="row">${r.kind} <code>${r.namespace ? `${r.namespace}/` : ''}${r.name}</code>${r.drifted ? html` <span class="badge tone-warn"><span aria-hidden="true">≠</span> drifted at the last check</span>` : ''}</th>
                      <td><ul class="plain">${r.changes.map((c) => html`<li><code>${c}</code></li>`)}</ul></td>
                      <td>
                        ${
                          r.managers.length === 0
                            ? html`<span class="muted">not known${r.changes.includes('deleted') ? ' (a deleted object names no manager)' : ''}</span>`
                            : html`<ul class="plain">
                              ${r.managers.map(
                                (m) =>
                                  html`<li><code>${m.name}</code>${m.how ? html` <span class="muted">(${m.how})</span>` : ''}${m.at ? html` <${Ago} iso=${m.at} />` : ''}</li>`,
                              )}
                            </ul>`
                        }
                      </td>
                      <td><${Ago} iso=${r.correctedAt} /></td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
  </section>`;
}

export function ClusterList() {
  const [selector, setSelector] = useState('');
  const [applied, setApplied] = useState('');
  const [connection, setConnection] = useState('');
  const [text, setText] = useState('');
  const [page, setPage] = useState(0);
  const clusters = useLive(
    () => api('GET', `/api/v1/clusters${applied ? `?selector=${enc(applied)}` : ''}`),
    [applied],
    (e) => e.type.startsWith('Cluster'),
  );
  useMark('gitfleet:clusters', Boolean(clusters.data));
  useEffect(() => setPage(0), [applied, connection, text]);
  const items = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return (clusters.data?.items ?? [])
      .filter(
        (c) =>
          (!connection || (connection === 'connected') === c.connected) &&
          (!needle || c.name.toLowerCase().includes(needle)),
      )
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }, [clusters.data, connection, text]);
  const shown = items.slice(page * ROWS_PER_PAGE, (page + 1) * ROWS_PER_PAGE);
  return html`<h1 tabindex="-1">Clusters</h1>
    <form class="filters" role="search" aria-label="Filter clusters" onSubmit=${(e) => {
      e.preventDefault();
      setApplied(selector.trim());
    }}>
      <div class="grow">
        <label for="c-selector">Label selector</label>
        <input id="c-selector" value=${selector} placeholder="env=prod,region in (eu,us)" spellcheck="false" autocomplete="off"
          onInput=${(e) => setSelector(e.currentTarget.value)} />
      </div>
      <div>
        <label for="c-connection">Connection</label>
        <select id="c-connection" value=${connection} onChange=${(e) => setConnection(e.currentTarget.value)}>
          <option value="">any</option>
          <option value="connected">connected</option>
          <option value="disconnected">disconnected</option>
        </select>
      </div>
      <div>
        <label for="c-name">Name contains</label>
        <input id="c-name" type="search" value=${text} onInput=${(e) => setText(e.currentTarget.value)} autocomplete="off" />
      </div>
      <button type="submit">Apply</button>
    </form>
    <${ErrorMessage} error=${clusters.error} title=${applied ? 'Label selector not valid' : 'Could not load the clusters'} />
    ${
      !clusters.data
        ? !clusters.error && html`<${Loading} what="clusters" />`
        : html`<p class="muted" role="status">${count(items.length)} of ${count(clusters.data.items.length)} clusters${applied ? html` matching <code>${applied}</code>` : ''}</p>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Clusters">
              <table>
                <thead><tr><th scope="col">Cluster</th><th scope="col">Connection</th><th scope="col">Labels</th><th scope="col">Agent</th><th scope="col">Kubernetes</th><th scope="col">Last seen</th></tr></thead>
                <tbody>
                  ${shown.map(
                    (c) => html`<tr key=${c.name} data-cluster=${c.name}>
                      <th scope="row"><a href=${href('clusters', c.name)}>${c.name}</a></th>
                      <td><${Connection} connected=${c.connected} /></td>
                      <td><${Labels} labels=${c.labels} /></td>
                      <td>${c.agentVersion ?? html`<span class="muted">—</span>`}</td>
                      <td>${c.kubernetesVersion ?? html`<span class="muted">—</span>`}</td>
                      <td>${c.lastSeen ? ago(c.lastSeen) : html`<span class="muted">never</span>`}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            <${Pager} page=${page} pageSize=${ROWS_PER_PAGE} total=${items.length} label="Clusters" onPage=${setPage} />`
    }`;
}

export function ClusterView({ name }) {
  const cluster = useLive(
    () => api('GET', `/api/v1/clusters/${enc(name)}`),
    [name],
    (e) => e.cluster === name,
  );
  if (!cluster.data) {
    return html`<h1 tabindex="-1">${name}</h1>
      <${ErrorMessage} error=${cluster.error} title="Could not load the cluster" />
      ${!cluster.error && html`<${Loading} what="the cluster" />`}`;
  }
  const c = cluster.data;
  return html`<nav aria-label="Breadcrumb" class="crumbs"><a href="#/clusters">Clusters</a> <span aria-hidden="true">/</span></nav>
    <div class="title-row"><h1 tabindex="-1">${c.name}</h1><${Connection} connected=${c.connected} /></div>
    <${ErrorMessage} error=${cluster.error} title="Could not refresh the cluster" />
    <dl class="facts summary">
      <dt>Labels</dt><dd><${Labels} labels=${c.labels} /></dd>
      <dt>Agent</dt><dd>${c.agentVersion ?? html`<span class="muted">no agent has connected</span>`}</dd>
      <dt>Kubernetes</dt><dd>${c.kubernetesVersion ?? html`<span class="muted">unknown</span>`}</dd>
      <dt>Registered</dt><dd>${c.registered ? 'yes: the agent holds its credential' : 'waiting for the agent to exchange its bootstrap token'}</dd>
      <dt>Last seen</dt><dd>${c.lastSeen ? html`<${Time} iso=${c.lastSeen} /> <span class="muted">(${ago(c.lastSeen)})</span>` : html`<span class="muted">never</span>`}</dd>
      <dt>Created</dt><dd><${Time} iso=${c.createdAt} /></dd>
    </dl>
    <section aria-labelledby="on-cluster">
      <h2 id="on-cluster">Fleets on ${c.name}</h2>
      ${
        c.fleets.length === 0
          ? html`<p class="muted">No fleet has reported from this cluster.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Fleets on the cluster">
              <table>
                <thead><tr><th scope="col">Fleet</th><th scope="col">Phase</th><th scope="col">Applied</th><th scope="col">Desired</th><th scope="col">Objects</th><th scope="col">Message</th><th scope="col">Reported</th></tr></thead>
                <tbody>
                  ${c.fleets.map(
                    (f) => html`<tr data-fleet=${f.fleet}>
                      <th scope="row"><a href=${href('fleets', f.fleet, 'clusters', c.name)}>${f.fleet}</a></th>
                      <td><${PhaseBadge} phase=${f.phase} /></td>
                      <td><${Rev} rev=${f.appliedRevision} /></td>
                      <td><${Rev} rev=${f.desiredRevision} /></td>
                      <td>${count(f.objectCount)}${f.driftCorrections ? html` <span class="muted small">${count(f.driftCorrections)} drift corrections</span>` : ''}</td>
                      <td class="message">${f.message}</td>
                      <td>${ago(f.observedAt)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>`;
}

export function ClusterFleetView({ fleet, cluster }) {
  // The fleet's status route holds every cluster's objects: this view keeps the one it shows.
  const status = useLive(
    async () => {
      const res = await api('GET', `/api/v1/fleets/${enc(fleet)}/status`);
      return res.items.find((i) => i.cluster === cluster) ?? null;
    },
    [fleet, cluster],
    (e) => e.fleet === fleet && (!e.cluster || e.cluster === cluster),
  );
  const reports = useLive(
    () => api('GET', `/api/v1/fleets/${enc(fleet)}/clusters/${enc(cluster)}/reports`),
    [fleet, cluster],
    (e) => e.fleet === fleet && e.cluster === cluster && e.type === 'StatusChanged',
  );
  const s = status.data;
  const crumbs = html`<nav aria-label="Breadcrumb" class="crumbs">
    <a href="#/">Fleets</a> <span aria-hidden="true">/</span> <a href=${href('fleets', fleet)}>${fleet}</a>${' '}
    <span aria-hidden="true">/</span> <a href=${href('clusters', cluster)}>${cluster}</a>
  </nav>`;
  if (s === undefined || s === null) {
    return html`${crumbs}<h1 tabindex="-1">${fleet} on ${cluster}</h1>
      <${ErrorMessage} error=${status.error} title="Could not load the status" />
      ${s === null ? html`<p>Fleet ${fleet} has nothing for cluster ${cluster}: the cluster is in none of its stages.</p>` : !status.error && html`<${Loading} what="the status" />`}`;
  }
  const failed = s.objects.filter((o) => o.action === 'failed' || o.health === 'Failed').length;
  return html`${crumbs}
    <div class="title-row"><h1 tabindex="-1">${fleet} on ${cluster}</h1><${PhaseBadge} phase=${s.phase} /></div>
    ${s.message ? html`<p class=${`alert tone-${s.phase === 'Failed' ? 'bad' : 'idle'}`}>${s.message}</p>` : ''}
    <dl class="facts summary">
      <dt>Stage</dt><dd>${s.stage ?? html`<span class="muted">none</span>`}</dd>
      <dt>Desired</dt><dd><${Rev} rev=${s.desiredRevision} /> <span class="muted small">${s.desiredDigest ? s.desiredDigest.slice(0, 19) : ''}</span></dd>
      <dt>Applied</dt><dd><${Rev} rev=${s.appliedRevision} /></dd>
      <dt>Last attempted</dt><dd><${Rev} rev=${s.attemptedRevision} /></dd>
      <dt>Agent stream</dt><dd>${s.connected ? 'connected' : 'disconnected'}</dd>
      <dt>Reported</dt><dd><${Time} iso=${s.observedAt} /></dd>
      <dt>Drift corrections</dt><dd data-testid="drift-corrections">${count(s.driftCorrections)}</dd>
    </dl>
    <section aria-labelledby="objects">
      <h2 id="objects">Objects <span class="muted small">${count(s.objects.length)}${failed ? `, ${failed} failed` : ''}</span></h2>
      ${
        s.objects.length === 0
          ? html`<p class="muted">No object reported yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Objects">
              <table class="objects">
                <thead><tr><th scope="col">Object</th><th scope="col">Action</th><th scope="col">Health</th><th scope="col">Reason</th></tr></thead>
                <tbody>
                  ${s.objects.map(
                    (
                      o,
                    ) => html`<tr data-object=${`${o.kind}/${o.name}`} class=${o.action === 'failed' || o.health === 'Failed' ? 'row-bad' : ''}>
                      <th scope="row"><span class="muted small">${o.apiVersion}</span> ${o.kind} <code>${o.namespace ? `${o.namespace}/` : ''}${o.name}</code>${o.drifted ? html` <span class="badge tone-warn">drifted</span>` : ''}</th>
                      <td>${o.action}</td>
                      <td>${o.health}</td>
                      <td>${o.reason ? html`<code>${o.reason}</code> ` : ''}${o.message}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
    </section>
    <${DriftCorrections} item=${s} />
    <${Reports} reports=${reports} />`;
}

/** The cluster's last reports for the fleet, newest first: how it got where it is. */
function Reports({ reports }) {
  const items = reports.data?.items;
  return html`<section aria-labelledby="reports">
    <h2 id="reports">Reports <span class="muted small">${items ? `the last ${count(items.length)}` : ''}</span></h2>
    <${ErrorMessage} error=${reports.error} title="Could not load the reports" />
    ${
      !items
        ? !reports.error && html`<${Loading} what="the reports" />`
        : items.length === 0
          ? html`<p class="muted">No report yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Reports">
              <table class="reports">
                <thead><tr><th scope="col">#</th><th scope="col">Phase</th><th scope="col">Applied</th><th scope="col">Objects</th><th scope="col">Observed</th><th scope="col">Message</th></tr></thead>
                <tbody>
                  ${items.map(
                    (r) => html`<tr data-report=${r.sequence} class=${r.phase === 'Failed' ? 'row-bad' : ''}>
                      <th scope="row">${r.sequence}</th>
                      <td><${PhaseBadge} phase=${r.phase} /></td>
                      <td><${Rev} rev=${r.appliedRevision} /></td>
                      <td>${count(r.objects)}${r.failedObjects ? `, ${r.failedObjects} failed` : ''}</td>
                      <td><${Time} iso=${r.observedAt} /></td>
                      <td>${r.message}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }
  </section>`;
}
