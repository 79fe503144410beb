// What a caller may see and do. An installation-wide role (admin: everything; viewer: read
// everything) comes from the token or the identity provider's groups; project roles come from
// the projects that name the caller's groups or token. A caller with project roles only sees
// the fleets of those projects and the clusters they may select: anything else answers 404,
// as if it did not exist, so names of other teams cannot be listed or guessed.
import { DomainError, notFound } from '../errors.ts';
import { clustersOf, PROJECT_ROLES, type Project, type ProjectRole } from '../fleet/index.ts';

export type GlobalRole = 'admin' | 'viewer' | 'none';

const RANK: Record<ProjectRole, number> = { viewer: 1, operator: 2, admin: 3 };

/** A caller's highest role in each project naming one of its groups or its token. */
export function projectRolesOf(
  projects: Project[],
  who: { groups?: readonly string[]; token?: string },
): Record<string, ProjectRole> {
  const roles: Record<string, ProjectRole> = {};
  for (const project of projects) {
    for (const role of PROJECT_ROLES) {
      const members = project.roles[role];
      const named =
        (who.token !== undefined && members.tokens.includes(who.token)) ||
        (who.groups ?? []).some((g) => members.groups.includes(g));
      if (named && RANK[role] > (roles[project.name] ? RANK[roles[project.name] as ProjectRole] : 0)) {
        roles[project.name] = role;
      }
    }
  }
  return roles;
}

/** Every group that has a role in some project (for OpenID Connect callers without a global one). */
export function projectGroups(projects: Project[]): Set<string> {
  return new Set(projects.flatMap((p) => PROJECT_ROLES.flatMap((r) => p.roles[r].groups)));
}

export class Access {
  readonly name: string;
  readonly role: GlobalRole;
  readonly projectRoles: Readonly<Record<string, ProjectRole>>;
  readonly #projects: Project[];

  constructor(
    caller: { name: string; role: GlobalRole },
    projects: Project[],
    roles: Record<string, ProjectRole>,
  ) {
    this.name = caller.name;
    this.role = caller.role;
    this.projectRoles = roles;
    this.#projects = projects.filter((p) => roles[p.name] !== undefined);
  }

  /** Sees everything (an installation-wide role). */
  get global(): boolean {
    return this.role === 'admin' || this.role === 'viewer';
  }

  /** The caller's role on a fleet; undefined: it may not even know the fleet exists. */
  fleetRole(fleet: { project?: string }): ProjectRole | undefined {
    if (this.role === 'admin') return 'admin';
    const inProject = fleet.project ? this.projectRoles[fleet.project] : undefined;
    if (this.role === 'viewer') return inProject && RANK[inProject] > RANK.viewer ? inProject : 'viewer';
    return inProject;
  }

  /** Refuses unless the caller has at least `need` on the fleet: 404 when it has no role at all. */
  requireFleet(fleet: { name: string; project?: string }, need: ProjectRole): void {
    const role = this.fleetRole(fleet);
    if (!role) throw notFound('FleetNotFound', `fleet ${fleet.name} does not exist`);
    if (RANK[role] < RANK[need]) {
      throw new DomainError(
        'Forbidden',
        `${this.name} is ${role === 'viewer' ? 'a viewer' : `an ${role}`} of fleet ${fleet.name}: this needs the ${need} role`,
      );
    }
  }

  /** The caller's role in a project; undefined when it is not in it. */
  projectRole(project: string): ProjectRole | undefined {
    if (this.role === 'admin') return 'admin';
    return this.projectRoles[project] ?? (this.role === 'viewer' ? 'viewer' : undefined);
  }

  seesProject(project: string): boolean {
    return this.global || this.projectRoles[project] !== undefined;
  }

  /** Whether the cluster is one the caller's projects may select (or the caller sees all). */
  seesCluster(cluster: { labels: Record<string, string> }): boolean {
    return this.global || this.#projects.some((p) => clustersOf(p, [cluster]).length > 0);
  }
}
