// Pure helpers of the dashboard (no DOM, no imports): unit-tested in Node by
// dashboard/format.test.ts.

/** The phases of a fleet on a cluster, each with a symbol so that no state is told by colour alone. */
export const PHASES = {
  Ready: { symbol: '✓', tone: 'good' },
  Progressing: { symbol: '◔', tone: 'busy' },
  Applying: { symbol: '↻', tone: 'busy' },
  Pending: { symbol: '…', tone: 'idle' },
  Drifted: { symbol: '≠', tone: 'warn' },
  Failed: { symbol: '✗', tone: 'bad' },
  Unknown: { symbol: '?', tone: 'idle' },
};
export const PHASE_NAMES = ['Ready', 'Progressing', 'Applying', 'Pending', 'Drifted', 'Failed'];

export const phaseOf = (name) => PHASES[name] ?? PHASES.Unknown;

export const shortRev = (rev) => (rev ? String(rev).slice(0, 7) : '—');

/**
 * A web page of a commit, for the forges whose URL scheme is known from the repository URL
 * (GitHub, GitLab, Bitbucket, Gitea, Forgejo, Codeberg); null when it cannot be told, rather
 * than a guess that leads nowhere.
 */
export function commitUrl(repo, sha) {
  if (!repo || !/^[0-9a-f]{7,64}$/i.test(sha ?? '')) return null;
  let url;
  try {
    url = new URL(repo);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (path.split('/').filter(Boolean).length < 2) return null;
  const base = `${url.protocol}//${url.host}${path}`;
  const host = url.hostname.toLowerCase();
  if (host === 'github.com' || host.startsWith('github.')) return `${base}/commit/${sha}`;
  if (host === 'gitlab.com' || host.startsWith('gitlab.')) return `${base}/-/commit/${sha}`;
  if (host === 'bitbucket.org') return `${base}/commits/${sha}`;
  if (host === 'codeberg.org' || /(^|\.)(gitea|forgejo)\./.test(host)) return `${base}/commit/${sha}`;
  return null;
}

/** A problem's message without the `file:line: ` it starts with (shown apart). */
export function problemText(problem) {
  const where = problem.line ? `${problem.file}:${problem.line}: ` : `${problem.file}: `;
  return problem.message?.startsWith(where) ? problem.message.slice(where.length) : (problem.message ?? '');
}

export const problemWhere = (problem) => (problem.line ? `${problem.file}:${problem.line}` : problem.file);

/** The cluster a halted rollout's reason names (`cluster 'x' is Failed at …`), if any. */
export function haltedCluster(reason) {
  return /cluster '([^']+)'/.exec(reason ?? '')?.[1] ?? null;
}

/**
 * Each wave of a stage's rollout with how far it got: `done` (every cluster Ready at the
 * rollout's revision), `moving` (the wave launched last, not done), `halted`, or `waiting`.
 * `statusOf(cluster)` gives a status item of GET /api/v1/fleets/{name}/status.
 */
export function waveProgress(rollout, statusOf) {
  if (!rollout?.waveClusters) return [];
  return rollout.waveClusters.map((clusters, i) => {
    const number = i + 1;
    let ready = 0;
    for (const c of clusters) {
      const s = statusOf(c);
      if (s?.phase === 'Ready' && s.appliedRevision === rollout.revision) ready++;
    }
    const done = ready === clusters.length;
    let state = 'waiting';
    if (number < rollout.wave || (number === rollout.wave && (done || rollout.state === 'complete'))) {
      state = 'done';
    } else if (number === rollout.wave) state = rollout.state === 'halted' ? 'halted' : 'moving';
    return { number, clusters, ready, state };
  });
}

/** `2 min ago`, `in 5 s`, for an ISO time; '' for none. */
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  const abs = Math.abs(s);
  const text =
    abs < 60
      ? `${abs} s`
      : abs < 3600
        ? `${Math.round(abs / 60)} min`
        : abs < 86400
          ? `${Math.round(abs / 3600)} h`
          : `${Math.round(abs / 86400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/** `12,345` */
export const count = (n) => Number(n ?? 0).toLocaleString('en-US');

/** Conditions whose True is bad news (Stalled) are told apart from those whose True is good. */
export function conditionTone(condition) {
  if (condition.status === 'Unknown') return 'idle';
  const good = condition.type === 'Stalled' ? condition.status === 'False' : condition.status === 'True';
  return good ? 'good' : 'bad';
}

/** Filters status items: by phase (all when empty), by name substring, by a set of names (all when null). */
export function filterItems(items, { phase = '', text = '', names = null } = {}) {
  const needle = text.trim().toLowerCase();
  return items.filter(
    (i) =>
      (!phase || i.phase === phase) &&
      (!needle || i.cluster.toLowerCase().includes(needle)) &&
      (!names || names.has(i.cluster)),
  );
}

/** A promotion commit's message: its subject, and the reason given (the paragraphs before the trailers). */
export function commitMessage(message = '') {
  const [subject = '', ...rest] = message.split(/\n\s*\n/);
  const reason = rest
    .filter(
      (p) =>
        !p
          .split('\n')
          .filter((line) => line.trim())
          .every((line) => /^[A-Za-z-]+: /.test(line)),
    )
    .join('\n\n')
    .trim();
  return { subject: subject.trim(), reason };
}

const ROLLOUT_STATES = {
  RolloutProgressed: 'progressing',
  RolloutComplete: 'complete',
  RolloutHalted: 'halted',
};

/**
 * A fleet view (GET /api/v1/fleets/{name}) with a rollout event applied, so the waves move on
 * the page the moment the event arrives; the reload that follows is the authority. Undefined
 * when the event changes nothing it shows.
 */
export function patchFleet(fleet, event) {
  const state = ROLLOUT_STATES[event.type];
  const i = fleet.stages.findIndex((s) => s.name === event.stage);
  if (!state || i < 0 || !event.revision) return undefined;
  const stage = fleet.stages[i];
  const before = stage.rollout ?? {};
  const wave = /^wave (\d+) of (\d+)$/.exec(event.reason ?? '');
  const rollout = {
    ...before,
    revision: event.revision,
    previousRevision:
      before.revision === event.revision ? (before.previousRevision ?? null) : (before.revision ?? null),
    state,
    ...(wave ? { wave: Number(wave[1]), waves: Number(wave[2]) } : {}),
    reason: state === 'halted' ? (event.reason ?? null) : null,
  };
  const stages = fleet.stages.slice();
  stages[i] = { ...stage, revision: event.revision, rollout };
  return { ...fleet, stages };
}

const statusIndex = new WeakMap();

/**
 * The per-cluster status (GET /api/v1/fleets/{name}/status) with a StatusChanged or
 * DesiredStateChanged event applied to its cluster's item, in place (ten thousand events must
 * not copy ten thousand items each); a new wrapper object so that views redraw.
 */
export function patchStatus(status, event) {
  if (!event.cluster || (event.type !== 'StatusChanged' && event.type !== 'DesiredStateChanged'))
    return undefined;
  let byName = statusIndex.get(status.items);
  if (!byName) {
    byName = new Map(status.items.map((item) => [item.cluster, item]));
    statusIndex.set(status.items, byName);
  }
  const item = byName.get(event.cluster);
  if (!item || !event.revision) return undefined;
  if (event.type === 'DesiredStateChanged') item.desiredRevision = event.revision;
  else {
    item.phase = event.phase ?? item.phase;
    item.attemptedRevision = event.revision;
    if (item.phase === 'Ready') item.appliedRevision = event.revision;
  }
  return { ...status };
}

/** Orders event ids ("ms-seq"), as the history does. */
export function compareEventIds(a, b) {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * A view loaded with `mark` (the newest event id it includes) with the events patched since
 * applied on top, in order; and the events still newer than the mark, to keep for the next.
 */
export function replayAfter(data, mark, patched, apply) {
  const newer = patched.filter((e) => compareEventIds(e.id, mark) > 0);
  let out = data;
  for (const e of newer) out = apply(out, e) ?? out;
  return { data: out, newer };
}

/** Whether the caller may sync, promote and roll back the fleet: an admin, or an operator or admin of its project. */
export function operates(caller, fleet) {
  if (caller?.role === 'admin') return true;
  const inProject = fleet?.project ? caller?.projects?.[fleet.project] : undefined;
  return inProject === 'operator' || inProject === 'admin';
}

// ---- drift and previews ------------------------------------------------------------------------

/**
 * A field manager as the agent reports it (`kubectl-patch (Update) at <ISO time>`): its name,
 * how it wrote (operation and subresource) and when; the text as the name when it is not that shape.
 */
export function parseManager(text = '') {
  const m = /^(.*?)(?: \(([^)]*)\))?(?: at (\S+))?$/.exec(text);
  const name = m?.[1] || text;
  return { name, how: m?.[2] ?? '', at: m?.[3] ?? '' };
}

/** The objects of a status item that have had drift corrected, the latest correction first. */
export function driftRows(objects = []) {
  return objects
    .filter((o) => o.lastDrift)
    .map((o) => ({
      key: `${o.apiVersion}/${o.kind}/${o.namespace}/${o.name}`,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      drifted: Boolean(o.drifted),
      changes: o.lastDrift.changes ?? [],
      managers: (o.lastDrift.managers ?? []).map(parseManager),
      correctedAt: o.lastDrift.correctedAt,
    }))
    .sort((a, b) => (Date.parse(b.correctedAt) || 0) - (Date.parse(a.correctedAt) || 0));
}

/**
 * The revision a promotion into `stageName` would pin, as the API picks it: the one typed, else
 * the revision of the stage it requires (or the stage before it). `from` names that stage; null
 * revision when there is none to take (a first stage with nothing typed).
 */
export function promotionRevision(fleet, stageName, typed = '') {
  const chosen = typed.trim();
  if (chosen) return { revision: chosen, from: null };
  const stages = fleet?.stages ?? [];
  const i = stages.findIndex((s) => s.name === stageName);
  const from = i < 0 ? undefined : (stages[i].requires ?? stages[i - 1]?.name);
  const source = stages.find((s) => s.name === from);
  return { revision: source?.revision ?? null, from: source ? from : null };
}

const CHANGE_ORDER = ['changed', 'created', 'deleted', 'failed', 'unchanged'];

/** A diff answer's counts in words, the non-zero ones in a fixed order: `2 changed, 1 unchanged`. */
export function summaryText(summary = {}) {
  const parts = CHANGE_ORDER.filter((c) => summary[c] > 0).map((c) => `${count(summary[c])} ${c}`);
  return parts.length ? parts.join(', ') : 'no objects';
}

const OUTCOMES = {
  compared: { symbol: '✓', tone: 'good', words: 'compared' },
  'not-connected': { symbol: '○', tone: 'idle', words: 'not connected' },
  'timed-out': { symbol: '⧗', tone: 'warn', words: 'timed out' },
  'render-failed': { symbol: '✗', tone: 'bad', words: 'render failed' },
  failed: { symbol: '✗', tone: 'bad', words: 'failed' },
};
export const outcomeOf = (outcome) => OUTCOMES[outcome] ?? { symbol: '?', tone: 'idle', words: outcome };

/**
 * Per cluster of a diff answer (GET /api/v1/fleets/{name}/diff): the outcome, the counts in
 * words, and the objects that would change (unchanged ones are only counted), by kind and name.
 */
export function previewClusters(answer) {
  return (answer?.clusters ?? [])
    .map((c) => ({
      cluster: c.cluster,
      stage: c.stage,
      outcome: c.outcome,
      message: c.message,
      summary: c.summary,
      text: c.outcome === 'compared' ? summaryText(c.summary) : outcomeOf(c.outcome).words,
      objects: (c.objects ?? [])
        .filter((o) => o.change !== 'unchanged')
        .sort(
          (a, b) =>
            CHANGE_ORDER.indexOf(a.change) - CHANGE_ORDER.indexOf(b.change) ||
            `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`),
        ),
    }))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}

/**
 * The lines of a unified diff, each with what it is: `file` (the ---/+++ header, only before the
 * first hunk: after it, `---` is a removed line that began with `--`), `hunk`, `add`, `del` or `same`.
 */
export function diffLines(diff = '') {
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let inHunk = false;
  return lines.map((text) => {
    if (text.startsWith('@@')) {
      inHunk = true;
      return { text, kind: 'hunk' };
    }
    if (!inHunk && /^(---|\+\+\+)( |\t|$)/.test(text)) return { text, kind: 'file' };
    const kind = text.startsWith('+') ? 'add' : text.startsWith('-') ? 'del' : 'same';
    return { text, kind };
  });
}
