// Projects: what the fleets of one team may touch. A project names its fleets (name
// patterns), the clusters they may select (a label selector), the namespaces and kinds their
// objects may have, and the repositories they may come from; who may do what in it is in its
// roles. This is the pure part: matching, and the rules objects are held to at render time.
import { type Problem, problem } from './errors.ts';
import { matchesSelector, parseSelector } from './labels.ts';
import { isClusterScopedKind } from './scope.ts';

export type ProjectRole = 'viewer' | 'operator' | 'admin';
export const PROJECT_ROLES: readonly ProjectRole[] = ['viewer', 'operator', 'admin'];

/** Who holds a role: OpenID Connect groups and API token names. */
export interface Members {
  groups: string[];
  tokens: string[];
}

export interface Project {
  name: string;
  description: string;
  /** Fleet names it may hold: patterns where `*` is any run of characters. */
  fleets: string[];
  /** The clusters its fleets may select, as a label selector (env=prod,team=shop). */
  clusters: string;
  /** Namespaces its objects may be in (patterns). */
  namespaces: string[];
  /** Whether its objects may be cluster-scoped (Namespaces, ClusterRoles, CRDs, ...). */
  clusterScoped: boolean;
  /** Kinds refused whatever their scope: `Kind` or `group/Kind`, `*` as a pattern (rbac.authorization.k8s.io/*). */
  deniedKinds: string[];
  /** Repositories its fleets may come from (URL patterns). */
  repos: string[];
  roles: Record<ProjectRole, Members>;
}

/** `*` matches any run of characters; everything else is literal. */
export function matchesPattern(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`, 's');
  return re.test(value);
}
const literal = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

export const holdsFleet = (project: Project, fleet: string) =>
  project.fleets.some((p) => matchesPattern(p, fleet));
export const allowsRepo = (project: Project, repo: string) =>
  project.repos.some((p) => matchesPattern(p, repo));

/** The clusters a project's fleets may select, of those given. */
export function clustersOf<C extends { labels: Record<string, string> }>(
  project: Project,
  clusters: C[],
): C[] {
  const selector = parseSelector(project.clusters);
  return clusters.filter((c) => matchesSelector(c.labels, selector));
}

interface ObjectLike {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
}

/**
 * The objects a project's rules refuse, each a problem naming the object and the rule. An
 * object without a namespace that is not cluster-scoped lands in `default`, so that is the
 * namespace it is held to.
 */
export function objectProblems(project: Project, objects: ObjectLike[], file: string): Problem[] {
  const problems: Problem[] = [];
  for (const o of objects) {
    const slash = o.apiVersion.lastIndexOf('/');
    const group = slash === -1 ? '' : o.apiVersion.slice(0, slash);
    const name = `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;
    const groupKind = group ? `${group}/${o.kind}` : o.kind;
    const denied = project.deniedKinds.find((p) => matchesPattern(p, groupKind) || matchesPattern(p, o.kind));
    if (denied) {
      problems.push(
        problem(
          'ProjectRule',
          file,
          undefined,
          `${name}: project ${project.name} does not allow kind ${groupKind} (deniedKinds: ${denied})`,
        ),
      );
      continue;
    }
    if (isClusterScopedKind(o.apiVersion, o.kind)) {
      if (!project.clusterScoped) {
        problems.push(
          problem(
            'ProjectRule',
            file,
            undefined,
            `${name}: project ${project.name} does not allow cluster-scoped objects (clusterScoped: false)`,
          ),
        );
      }
      continue;
    }
    const namespace = o.metadata?.namespace || 'default';
    if (!project.namespaces.some((p) => matchesPattern(p, namespace))) {
      problems.push(
        problem(
          'ProjectRule',
          file,
          undefined,
          `${name}: project ${project.name} does not allow namespace ${namespace} (namespaces: ${project.namespaces.join(', ') || 'none'})`,
        ),
      );
    }
  }
  return problems;
}
