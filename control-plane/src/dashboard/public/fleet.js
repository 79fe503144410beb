// Fleets: the list, and one fleet's page — conditions, errors with file and line, its stages
// with their rollout waves, the stages × clusters matrix (paged, filtered by phase, name and
// label selector), the promotion history, and for those who operate it (installation admins,
// operators and admins of its project) sync, promote (with a preview of what it would change
// on each cluster, before it is made) and roll back.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import {
  commitMessage,
  conditionTone,
  count,
  diffLines,
  filterItems,
  haltedCluster,
  operates,
  outcomeOf,
  PHASE_NAMES,
  patchFleet,
  patchStatus,
  phaseOf,
  previewClusters,
  problemText,
  problemWhere,
  promotionRevision,
  shortRev,
  waveProgress,
} from './format.js';
import { ErrorMessage, href, html, Loading, Pager, PhaseBadge, Rev, Time, useLive, useMark } from './ui.js';

const CELLS_PER_PAGE = 120;
const enc = encodeURIComponent;
const aboutFleet = (name) => (e) => e.fleet === name || (!e.fleet && e.cluster !== undefined);

const SYMBOLS = { good: '✓', bad: '✗', idle: '?' };

/** A condition as `Type: Status`, in the list of conditions. */
function ConditionBadge({ condition }) {
  const tone = conditionTone(condition);
  return html`<span class=${`badge tone-${tone}`}><span aria-hidden="true">${SYMBOLS[tone]}</span> ${condition.type}: ${condition.status}</span>`;
}

/** The fleet's Ready condition in words: `Ready`, or `Not Ready: <reason>`. */
function ReadyBadge({ fleet }) {
  const ready = fleet.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return html`<span class="muted">—</span>`;
  const tone = conditionTone(ready);
  const words =
    ready.status === 'True'
      ? 'Ready'
      : ready.status === 'False'
        ? `Not Ready: ${ready.reason}`
        : `Ready unknown: ${ready.reason}`;
  return html`<span class=${`badge tone-${tone}`} title=${ready.message} data-ready=${ready.status}><span aria-hidden="true">${SYMBOLS[tone]}</span> ${words}</span>`;
}

function StageCounts({ stage }) {
  const phases = Object.entries(stage.phases ?? {});
  return html`<span class="stage-counts">
    <strong>${stage.name}</strong>
    ${phases.length === 0 ? html` <span class="muted">no clusters</span>` : ''}
    ${phases.map(
      ([phase, n]) =>
        html` <span class=${`badge tone-${phaseOf(phase).tone}`}><span aria-hidden="true">${phaseOf(phase).symbol}</span> ${count(n)} ${phase}</span>`,
    )}
  </span>`;
}

export function FleetList() {
  const fleets = useLive(
    () => api('GET', '/api/v1/fleets'),
    [],
    (e) => e.fleet !== undefined || e.type.startsWith('Cluster'),
  );
  useMark('gitfleet:fleets', Boolean(fleets.data));
  return html`<h1 tabindex="-1">Fleets</h1>
    <${ErrorMessage} error=${fleets.error} title="Could not load the fleets" />
    ${
      fleets.data === undefined
        ? !fleets.error && html`<${Loading} what="fleets" />`
        : fleets.data.items.length === 0
          ? html`<p>No fleets yet. Create one with <code>gitfleet fleet create</code> or <code>POST /api/v1/fleets</code>.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Fleets">
              <table class="fleets">
                <thead>
                  <tr>
                    <th scope="col">Fleet</th>
                    <th scope="col">Ready</th>
                    <th scope="col">Head</th>
                    <th scope="col">Last good</th>
                    <th scope="col">Stages</th>
                    <th scope="col">Errors</th>
                  </tr>
                </thead>
                <tbody>
                  ${fleets.data.items.map(
                    (f) => html`<tr data-fleet=${f.name}>
                      <th scope="row"><a href=${href('fleets', f.name)}>${f.name}</a></th>
                      <td><${ReadyBadge} fleet=${f} /></td>
                      <td><${Rev} rev=${f.head} repo=${f.repo} /></td>
                      <td><${Rev} rev=${f.lastGoodRevision} repo=${f.repo} /></td>
                      <td>${f.stages.map((s) => html`<div><${StageCounts} stage=${s} /></div>`)}</td>
                      <td>
                        ${
                          f.errors.length + (f.fetchError ? 1 : 0) > 0
                            ? html`<span class="badge tone-bad"><span aria-hidden="true">✗</span> ${f.errors.length + (f.fetchError ? 1 : 0)}</span>`
                            : html`<span class="muted">none</span>`
                        }
                      </td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }`;
}

// ---- actions ---------------------------------------------------------------------------------

/** A modal dialog (the browser's own: focus kept inside, Escape closes). */
function Dialog({ title, onClose, children, wide = false }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.open && d.close();
  }, []);
  return html`<dialog ref=${ref} class=${wide ? 'wide' : undefined} aria-labelledby="dialog-title" onClose=${onClose}>
    <h2 id="dialog-title">${title}</h2>
    ${children}
  </dialog>`;
}

function Refusal({ error }) {
  if (!error) return null;
  const notReady = error.details?.notReady;
  return html`<div class="alert tone-bad" role="alert" data-testid="refusal">
    <strong>Refused</strong> <code>${error.code}</code>
    <p>${error.message}</p>
    ${
      notReady?.length
        ? html`<p>Not Ready in <strong>${error.details.requires}</strong> at that revision:</p>
            <ul class="not-ready">
              ${notReady.map(
                (n) => html`<li>
                  <a href=${href('clusters', n.cluster)}>${n.cluster}</a>: <${PhaseBadge} phase=${n.phase ?? 'Pending'} /> at${' '}
                  <code>${shortRev(n.revision)}</code>
                </li>`,
              )}
            </ul>`
        : ''
    }
  </div>`;
}

const CHANGE_SYMBOLS = { created: '+', changed: '~', deleted: '−', failed: '✗' };
const CHANGE_TONES = { created: 'good', changed: 'busy', deleted: 'warn', failed: 'bad' };

/** A unified diff, its + and − lines marked by class as well as by their first character. */
function DiffText({ diff, label }) {
  return html`<pre class="diff" tabindex="0" role="region" aria-label=${label}>${diffLines(diff).map(
    (l) => html`<span class=${`diff-${l.kind}`}>${l.text}</span>${'\n'}`,
  )}</pre>`;
}

function PreviewObject({ object: o }) {
  const name = `${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  return html`<li data-object=${`${o.kind}/${o.name}`} data-change=${o.change}>
    <details>
      <summary>
        <span class=${`badge tone-${CHANGE_TONES[o.change] ?? 'idle'}`}><span aria-hidden="true">${CHANGE_SYMBOLS[o.change] ?? '?'}</span> ${o.change}</span>${' '}
        ${o.kind} <code>${name}</code>
      </summary>
      ${o.message ? html`<p class="muted">${o.message}</p>` : ''}
      ${o.changedKeys?.length ? html`<p>Keys whose values would change: ${o.changedKeys.map((k, i) => html`${i ? ', ' : ''}<code>${k}</code>`)} <span class="muted">(values are never shown)</span></p>` : ''}
      ${o.diff ? html`<${DiffText} diff=${o.diff} label=${`diff of ${o.kind} ${name}`} />` : ''}
    </details>
  </li>`;
}

/** What GET /api/v1/fleets/{name}/diff answered: per cluster the outcome, the counts, and each object that would change. */
function Preview({ preview, stage, current }) {
  if (preview.state === 'idle') return null;
  if (preview.state === 'loading') {
    return html`<p class="muted" role="status" data-testid="preview-loading">
      Comparing <code>${shortRev(preview.revision)}</code> with what runs on each cluster of ${stage}…
    </p>`;
  }
  if (preview.state === 'error') {
    return html`<${ErrorMessage} error=${preview.error} title="Could not preview the changes" />`;
  }
  const clusters = previewClusters(preview.answer);
  const stale = current && current !== preview.revision;
  return html`<section class="preview" aria-labelledby="preview-title" data-testid="preview">
    <h3 id="preview-title">
      If ${stage} ran <${Rev} rev=${preview.answer.revision} />${preview.from ? html` <span class="muted">(what ${preview.from} runs)</span>` : ''}
    </h3>
    <p class="muted small" role="status">
      ${clusters.length === 0 ? `No cluster in ${stage}.` : `${count(clusters.length)} ${clusters.length === 1 ? 'cluster' : 'clusters'}: ${preview.answer.changed ? 'something would change or could not be compared' : 'nothing would change'}.`}
      ${' '}A dry run by each cluster's agent; nothing was applied.
    </p>
    ${stale ? html`<p class="alert tone-warn">The promotion would now pin <code>${shortRev(current)}</code>: preview again to see that one.</p>` : ''}
    ${clusters.map((c) => {
      const o = outcomeOf(c.outcome);
      return html`<article class="preview-cluster" data-preview-cluster=${c.cluster} data-outcome=${c.outcome} aria-labelledby=${`preview-${c.cluster}`}>
        <h4 id=${`preview-${c.cluster}`}>
          ${c.cluster}${' '}
          <span class=${`badge tone-${o.tone}`}><span aria-hidden="true">${o.symbol}</span> ${o.words}</span>
        </h4>
        <p class="preview-counts">${c.text}${c.message ? html`: <span class="message">${c.message}</span>` : ''}</p>
        ${
          c.objects.length
            ? html`<ul class="preview-objects" aria-label=${`what would change on ${c.cluster}`}>
                ${c.objects.map((obj) => html`<${PreviewObject} key=${`${obj.kind}/${obj.namespace}/${obj.name}`} object=${obj} />`)}
              </ul>`
            : ''
        }
      </article>`;
    })}
  </section>`;
}

function PromoteDialog({ fleet, stage, first, onClose, onDone }) {
  const [revision, setRevision] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(undefined);
  const [preview, setPreview] = useState({ state: 'idle' });
  // An answer that arrives after the revision was changed (or a newer preview asked) is not shown.
  const asked = useRef(0);
  // What the API would pin: the typed revision, else what the source stage runs now.
  const target = promotionRevision(fleet, stage.name, revision);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = { stage: stage.name };
      if (revision.trim()) body.revision = revision.trim();
      if (reason.trim()) body.reason = reason.trim();
      const made = await api('POST', `/api/v1/fleets/${enc(fleet.name)}/promotions`, body);
      onDone(
        `Promoted ${stage.name} to ${shortRev(made.revision)}: commit ${shortRev(made.commit)} by ${made.author?.name}.`,
      );
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const runPreview = async () => {
    const { revision: rev, from } = target;
    if (!rev) return;
    const n = ++asked.current;
    setPreview({ state: 'loading', revision: rev, from });
    try {
      const answer = await api(
        'GET',
        `/api/v1/fleets/${enc(fleet.name)}/diff?revision=${enc(rev)}&stage=${enc(stage.name)}`,
      );
      if (n === asked.current) setPreview({ state: 'done', revision: rev, from, answer });
    } catch (err) {
      if (n === asked.current) setPreview({ state: 'error', revision: rev, from, error: err });
    }
  };
  const source = stage.requires ? `what ${stage.requires} runs` : 'what the stage before runs';
  return html`<${Dialog} title=${`Promote ${stage.name}`} onClose=${onClose} wide=${preview.state !== 'idle'}>
    <form onSubmit=${submit}>
      <p class="muted">
        A commit to <code>${fleet.branch}</code> pinning stage <strong>${stage.name}</strong> in fleet.yaml${
          stage.requires
            ? html`; refused unless every cluster of <strong>${stage.requires}</strong> is Ready at it`
            : ''
        }.
      </p>
      <label for="promote-revision">Revision${first ? '' : html` <span class="muted">(optional: ${source})</span>`}</label>
      <input id="promote-revision" value=${revision} required=${first} spellcheck="false" autocomplete="off"
        onInput=${(e) => {
          setRevision(e.currentTarget.value);
          asked.current++;
          setPreview({ state: 'idle' });
        }} />
      <label for="promote-reason">Reason <span class="muted">(optional, in the commit message)</span></label>
      <textarea id="promote-reason" rows="2" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
      <${Refusal} error=${error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Promoting…' : `Promote ${stage.name}`}</button>
        <button type="button" onClick=${runPreview} disabled=${!target.revision || preview.state === 'loading'}
          aria-describedby=${target.revision ? undefined : 'preview-needs'}>Preview changes</button>
        <button type="button" onClick=${onClose}>Cancel</button>
      </div>
      ${target.revision ? '' : html`<p id="preview-needs" class="muted small">Type a revision to preview what it would change.</p>`}
      <${Preview} preview=${preview} stage=${stage.name} current=${target.revision} />
    </form>
  <//>`;
}

function RollbackDialog({ fleet, stage, onClose, onDone }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(undefined);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const made = await api('POST', `/api/v1/fleets/${enc(fleet.name)}/rollbacks`, {
        stage: stage.name,
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
      onDone(`Rolled ${stage.name} back to ${shortRev(made.revision)}: commit ${shortRev(made.commit)}.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${`Roll back ${stage.name}`} onClose=${onClose}>
    <form onSubmit=${submit}>
      <p class="muted">A new commit restoring the revision <strong>${stage.name}</strong> had before its last promotion (nothing is rewritten).</p>
      <label for="rollback-reason">Reason <span class="muted">(optional)</span></label>
      <textarea id="rollback-reason" rows="2" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea>
      <${Refusal} error=${error} />
      <div class="buttons">
        <button type="submit" class="primary danger" disabled=${busy}>${busy ? 'Rolling back…' : `Roll back ${stage.name}`}</button>
        <button type="button" onClick=${onClose}>Cancel</button>
      </div>
    </form>
  <//>`;
}

// ---- the fleet page --------------------------------------------------------------------------

function Conditions({ conditions }) {
  return html`<section aria-labelledby="conditions">
    <h2 id="conditions">Conditions</h2>
    <ul class="conditions">
      ${conditions.map(
        (c) => html`<li data-condition=${c.type} data-status=${c.status}>
          <${ConditionBadge} condition=${c} />
          <span class="reason"><code>${c.reason}</code></span>
          <span class="message">${c.message}</span>
          <span class="muted small">since <${Time} iso=${c.lastTransitionTime} /></span>
        </li>`,
      )}
    </ul>
  </section>`;
}

function Problems({ fleet }) {
  if (!fleet.fetchError && fleet.errors.length === 0) return null;
  return html`<section aria-labelledby="errors" class="errors">
    <h2 id="errors">Errors <span class="badge tone-bad">${fleet.errors.length + (fleet.fetchError ? 1 : 0)}</span></h2>
    ${fleet.lastGoodRevision ? html`<p>Every cluster keeps <${Rev} rev=${fleet.lastGoodRevision} repo=${fleet.repo} />, the last good revision, until a good commit arrives.</p>` : ''}
    <ul>
      ${fleet.fetchError ? html`<li><strong>fetch</strong> <span class="message">${fleet.fetchError}</span></li>` : ''}
      ${fleet.errors.map(
        (p) => html`<li data-file=${p.file} data-line=${p.line}>
          <code class="where">${problemWhere(p)}</code> <code class="code">${p.code}</code>${' '}
          <span class="message">${problemText(p)}</span>
        </li>`,
      )}
    </ul>
  </section>`;
}

function Waves({ stage, statusOf }) {
  const rollout = stage.rollout;
  if (!rollout) return null;
  const waves = waveProgress(rollout, statusOf);
  const words = { done: 'done', moving: 'moving', halted: 'halted', waiting: 'waiting' };
  const symbols = { done: '✓', moving: '▶', halted: '■', waiting: '·' };
  const tones = { done: 'good', moving: 'busy', halted: 'bad', waiting: 'idle' };
  return html`<div class="rollout" data-rollout-state=${rollout.state}>
    <p>
      Rollout of <${Rev} rev=${rollout.revision} />${rollout.previousRevision ? html` from <${Rev} rev=${rollout.previousRevision} />` : ''}:${' '}
      <strong data-testid="rollout-state">${rollout.state}</strong>, wave ${rollout.wave} of ${rollout.waves}
    </p>
    ${
      waves.length > 1 || rollout.state !== 'complete'
        ? html`<ol class="waves" aria-label=${`waves of ${stage.name}`}>
          ${waves.map(
            (
              w,
            ) => html`<li class=${`badge tone-${tones[w.state]}`} data-wave=${w.number} data-wave-state=${w.state}
              aria-current=${w.state === 'moving' || w.state === 'halted' ? 'step' : undefined}>
              <span aria-hidden="true">${symbols[w.state]}</span> Wave ${w.number}: ${words[w.state]}, ${count(w.ready)}/${count(w.clusters.length)} Ready
            </li>`,
          )}
        </ol>`
        : ''
    }
    ${
      rollout.state === 'halted'
        ? html`<div class="alert tone-bad" role="status" data-testid="halted">
            <strong>Rollout halted${haltedCluster(rollout.reason) ? html` at <a href=${href('clusters', haltedCluster(rollout.reason))}>${haltedCluster(rollout.reason)}</a>` : ''}.</strong>
            <p class="reason">${rollout.reason}</p>
            <p class="muted">A newer revision supersedes it: commit a fix, or roll the stage back.</p>
          </div>`
        : ''
    }
  </div>`;
}

function Stages({ fleet, statusOf, operator, onAction }) {
  return html`<section aria-labelledby="stages">
    <h2 id="stages">Stages</h2>
    <div class="stages">
      ${fleet.stages.map(
        (s, i) => html`<article class="stage" data-stage=${s.name} aria-labelledby=${`stage-${s.name}`}>
          <h3 id=${`stage-${s.name}`}>${s.name}</h3>
          <dl class="facts">
            <dt>Revision</dt><dd><${Rev} rev=${s.revision} repo=${fleet.repo} /> <span class="muted">${s.follows === 'pinned' ? 'pinned' : 'follows the head'}</span></dd>
            ${s.chartVersion ? html`<dt>Chart</dt><dd>${s.chartVersion}</dd>` : ''}
            ${s.requires ? html`<dt>Requires</dt><dd>${s.requires} Ready</dd>` : ''}
            <dt>Clusters</dt><dd>${count(s.clusters)}</dd>
          </dl>
          <p><${StageCounts} stage=${{ ...s, name: '' }} /></p>
          <${Waves} stage=${s} statusOf=${statusOf} />
          ${
            operator
              ? html`<div class="buttons">
                  <button type="button" onClick=${() => onAction({ kind: 'promote', stage: s, first: i === 0 && !s.requires })}>
                    Promote ${s.name}…
                  </button>
                  ${s.follows === 'pinned' ? html`<button type="button" onClick=${() => onAction({ kind: 'rollback', stage: s })}>Roll back ${s.name}…</button>` : ''}
                </div>`
              : ''
          }
        </article>`,
      )}
    </div>
  </section>`;
}

function Cell({ fleet, item, wave }) {
  const p = phaseOf(item.phase);
  const moving = item.desiredRevision && item.appliedRevision !== item.desiredRevision;
  return html`<li>
    <a class=${`cell tone-${p.tone}`} href=${href('fleets', fleet, 'clusters', item.cluster)}
      data-cluster=${item.cluster} data-phase=${item.phase} title=${item.message || undefined}>
      <span class="name">${item.cluster}</span>
      <span class="phase"><span aria-hidden="true">${p.symbol}</span> ${item.phase}${wave ? html` <span class="muted">· wave ${wave}</span>` : ''}</span>
      <span class="revs">
        ${moving ? html`<span class="applied">applied <code>${shortRev(item.appliedRevision)}</code></span> <span aria-hidden="true">→</span> <span class="desired">desired <code>${shortRev(item.desiredRevision)}</code></span>` : html`<span class="applied">at <code>${shortRev(item.appliedRevision ?? item.desiredRevision)}</code></span>`}
      </span>
    </a>
  </li>`;
}

function Matrix({ fleet, status }) {
  const [phase, setPhase] = useState('');
  const [text, setText] = useState('');
  const [selector, setSelector] = useState('');
  const [names, setNames] = useState({ selector: '', set: null, error: undefined });
  const [pages, setPages] = useState({});
  useEffect(() => setPages({}), [phase, text, names]);

  const applySelector = async (e) => {
    e.preventDefault();
    const s = selector.trim();
    if (!s) return setNames({ selector: '', set: null, error: undefined });
    try {
      const res = await api('GET', `/api/v1/clusters?selector=${enc(s)}`);
      setNames({ selector: s, set: new Set(res.items.map((c) => c.name)), error: undefined });
    } catch (err) {
      setNames({ selector: s, set: names.set, error: err });
    }
  };

  const groups = useMemo(() => {
    const items = filterItems(status.items, { phase, text, names: names.set });
    const byStage = new Map(fleet.stages.map((s) => [s.name, []]));
    for (const item of items) {
      const key = item.stage ?? '';
      if (!byStage.has(key)) byStage.set(key, []);
      byStage.get(key).push(item);
    }
    return [...byStage].map(([name, list]) => {
      const stage = fleet.stages.find((s) => s.name === name);
      const waveOf = new Map();
      stage?.rollout?.waveClusters?.forEach((w, i) => {
        for (const c of w) waveOf.set(c, i + 1);
      });
      list.sort(
        (a, b) =>
          (waveOf.get(a.cluster) ?? 0) - (waveOf.get(b.cluster) ?? 0) || (a.cluster < b.cluster ? -1 : 1),
      );
      return { name, list, waveOf, showWaves: (stage?.rollout?.waves ?? 0) > 1 };
    });
  }, [status, fleet, phase, text, names]);

  const total = groups.reduce((n, g) => n + g.list.length, 0);
  return html`<section aria-labelledby="matrix">
    <h2 id="matrix">Clusters by stage</h2>
    <form class="filters" onSubmit=${applySelector} role="search" aria-label="Filter clusters">
      <div>
        <label for="f-phase">Phase</label>
        <select id="f-phase" value=${phase} onChange=${(e) => setPhase(e.currentTarget.value)}>
          <option value="">all phases</option>
          ${PHASE_NAMES.map((p) => html`<option value=${p}>${p}</option>`)}
        </select>
      </div>
      <div>
        <label for="f-name">Name contains</label>
        <input id="f-name" type="search" value=${text} onInput=${(e) => setText(e.currentTarget.value)} autocomplete="off" />
      </div>
      <div class="grow">
        <label for="f-selector">Label selector</label>
        <input id="f-selector" value=${selector} placeholder="env=prod,region in (eu,us)" spellcheck="false" autocomplete="off"
          onInput=${(e) => setSelector(e.currentTarget.value)} aria-describedby="f-selector-help" />
        <span id="f-selector-help" class="muted small">Enter applies it${names.set ? html` · ${count(names.set.size)} clusters match <code>${names.selector}</code>` : ''}</span>
      </div>
      <button type="submit">Apply</button>
    </form>
    <${ErrorMessage} error=${names.error} title="Label selector not valid" />
    <p class="muted" role="status">${count(total)} of ${count(status.items.length)} clusters shown</p>
    ${groups.map((g) => {
      const page = Math.min(pages[g.name] ?? 0, Math.max(0, Math.ceil(g.list.length / CELLS_PER_PAGE) - 1));
      const shown = g.list.slice(page * CELLS_PER_PAGE, (page + 1) * CELLS_PER_PAGE);
      return html`<div class="matrix-row" data-stage-row=${g.name}>
        <h3>${g.name || html`<span class="muted">in no stage</span>`} <span class="muted small">${count(g.list.length)} clusters</span></h3>
        ${g.list.length === 0 ? html`<p class="muted">none${phase || text || names.set ? ' match' : ''}</p>` : ''}
        <ul class="cells" aria-label=${`clusters of ${g.name || 'no stage'}`}>
          ${shown.map((item) => html`<${Cell} key=${item.cluster} fleet=${fleet.name} item=${item} wave=${g.showWaves ? g.waveOf.get(item.cluster) : undefined} />`)}
        </ul>
        <${Pager} page=${page} pageSize=${CELLS_PER_PAGE} total=${g.list.length} label=${g.name || 'no stage'}
          onPage=${(p) => setPages({ ...pages, [g.name]: p })} />
      </div>`;
    })}
  </section>`;
}

function Promotions({ fleet, promotions }) {
  return html`<section aria-labelledby="promotions">
    <h2 id="promotions">Promotions and rollbacks</h2>
    <${ErrorMessage} error=${promotions.error} title="Could not read the promotion history" />
    ${
      !promotions.data
        ? !promotions.error && html`<${Loading} what="the history" />`
        : promotions.data.items.length === 0
          ? html`<p class="muted">None yet: <code>git log fleet.yaml</code> has no promotion commit.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Promotion history">
              <table>
                <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Revision</th><th scope="col">Commit</th><th scope="col">Who</th><th scope="col">Message</th></tr></thead>
                <tbody>
                  ${promotions.data.items.map((p) => {
                    const m = commitMessage(p.message);
                    return html`<tr data-promotion=${p.id}>
                      <td><${Time} iso=${p.time} /></td>
                      <td><span class=${`badge ${p.kind === 'rollback' ? 'tone-warn' : 'tone-busy'}`}>${p.kind}</span> <strong>${p.stage}</strong>${p.from ? html` <span class="muted">from ${p.from}</span>` : ''}</td>
                      <td><${Rev} rev=${p.revision} repo=${fleet.repo} /></td>
                      <td><${Rev} rev=${p.commit} repo=${fleet.repo} /></td>
                      <td>${p.author?.name} <span class="muted small">${p.author?.email}</span></td>
                      <td class="message">${m.subject}${m.reason ? html`<br /><span class="muted">${m.reason}</span>` : ''}</td>
                    </tr>`;
                  })}
                </tbody>
              </table>
            </div>`
    }
  </section>`;
}

export function FleetView({ name, caller }) {
  const path = `/api/v1/fleets/${enc(name)}`;
  // All three at once: measured with 10,000 clusters (bench/dashboard.ts), asking for the
  // fleet first and the rest after it drew no sooner and the matrix later.
  const fleet = useLive(() => api('GET', path), [name], aboutFleet(name), patchFleet);
  const status = useLive(() => api('GET', `${path}/status`), [name], aboutFleet(name), patchStatus);
  const promotions = useLive(
    () => api('GET', `${path}/promotions`),
    [name],
    (e) => e.fleet === name && (e.type === 'Promoted' || e.type === 'FleetSynced'),
  );
  const [action, setAction] = useState(undefined);
  const [notice, setNotice] = useState(undefined);
  const [syncing, setSyncing] = useState(false);
  useMark('gitfleet:fleet', Boolean(fleet.data));
  useMark('gitfleet:matrix', Boolean(fleet.data && status.data));

  const byCluster = useMemo(
    () => new Map((status.data?.items ?? []).map((i) => [i.cluster, i])),
    [status.data],
  );
  const statusOf = (c) => byCluster.get(c);

  const sync = async () => {
    setSyncing(true);
    setNotice(undefined);
    try {
      const v = await api('POST', `${path}/sync`);
      setNotice({ tone: 'good', text: `Synced: the branch head is ${shortRev(v.head)}.` });
    } catch (err) {
      setNotice({ tone: 'bad', text: err.message });
    }
    setSyncing(false);
  };

  if (!fleet.data) {
    return html`<h1 tabindex="-1">${name}</h1>
      <${ErrorMessage} error=${fleet.error} title="Could not load the fleet" />
      ${!fleet.error && html`<${Loading} what="the fleet" />`}`;
  }
  const f = fleet.data;
  const operator = operates(caller, f);
  return html`<nav aria-label="Breadcrumb" class="crumbs"><a href="#/">Fleets</a> <span aria-hidden="true">/</span></nav>
    <div class="title-row">
      <h1 tabindex="-1">${f.name}</h1>
      <${ReadyBadge} fleet=${f} />
      ${operator ? html`<button type="button" class="primary" onClick=${sync} disabled=${syncing}>${syncing ? 'Syncing…' : 'Sync now'}</button>` : ''}
    </div>
    ${notice ? html`<p class=${`alert tone-${notice.tone}`} role="status">${notice.text}</p>` : ''}
    <${ErrorMessage} error=${fleet.error} title="Could not refresh the fleet" />
    <dl class="facts summary">
      <dt>Repository</dt><dd><code>${f.repo}</code> <span class="muted">branch</span> <code>${f.branch}</code> <span class="muted">path</span> <code>${f.path}</code></dd>
      ${f.project ? html`<dt>Project</dt><dd data-testid="project">${f.project}</dd>` : ''}
      <dt>Head</dt><dd><${Rev} rev=${f.head} repo=${f.repo} /></dd>
      <dt>Last good revision</dt><dd data-testid="last-good"><${Rev} rev=${f.lastGoodRevision} repo=${f.repo} /></dd>
      ${f.source ? html`<dt>Source</dt><dd>${f.source}${f.chartVersion ? html` chart <code>${f.chartVersion}</code>` : ''}</dd>` : ''}
      <dt>Last sync</dt><dd><${Time} iso=${f.lastSyncAt} /></dd>
    </dl>
    <${Conditions} conditions=${f.conditions ?? []} />
    <${Problems} fleet=${f} />
    <${Stages} fleet=${f} statusOf=${statusOf} operator=${operator} onAction=${setAction} />
    <${ErrorMessage} error=${status.error} title="Could not load the clusters' status" />
    ${status.data ? html`<${Matrix} fleet=${f} status=${status.data} />` : !status.error && html`<${Loading} what="the clusters' status" />`}
    <${Promotions} fleet=${f} promotions=${promotions} />
    ${
      action?.kind === 'promote'
        ? html`<${PromoteDialog} fleet=${f} stage=${action.stage} first=${action.first} onClose=${() => setAction(undefined)}
            onDone=${(text) => {
              setAction(undefined);
              setNotice({ tone: 'good', text });
            }} />`
        : action?.kind === 'rollback'
          ? html`<${RollbackDialog} fleet=${f} stage=${action.stage} onClose=${() => setAction(undefined)}
              onDone=${(text) => {
                setAction(undefined);
                setNotice({ tone: 'good', text });
              }} />`
          : ''
    }`;
}
