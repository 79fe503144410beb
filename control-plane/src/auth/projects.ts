// Projects in Redis, kept through the API (routes/projects.ts) rather than in Git: a project
// says what a team's fleets may touch, so it must not be changed by whoever can push to those
// fleets' repositories; the API is authenticated, admin-only for projects, and audited.

import { conflict, notFound } from '../errors.ts';
import type { Project } from '../fleet/index.ts';
import type { RedisClient } from '../store/connect.ts';
import type { Keys } from '../store/keys.ts';

export class ProjectStore {
  readonly #redis: RedisClient;
  readonly #keys: Keys;

  constructor(redis: RedisClient, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async create(project: Project): Promise<Project> {
    const created = await this.#redis.hsetnx(this.#keys.projects(), project.name, JSON.stringify(project));
    if (!created)
      throw conflict(
        'Conflict',
        `project ${project.name} already exists; change it with PUT or pick another name`,
      );
    return project;
  }

  /** Replaces a project (its name stays); the fleets in it are re-planned by the caller. */
  async replace(project: Project): Promise<Project> {
    await this.get(project.name);
    await this.#redis.hset(this.#keys.projects(), project.name, JSON.stringify(project));
    return project;
  }

  async get(name: string): Promise<Project> {
    const json = await this.#redis.hget(this.#keys.projects(), name);
    if (!json) throw notFound('NotFound', `project ${name} does not exist`);
    return JSON.parse(json) as Project;
  }

  /** The project, or undefined when it is gone (a fleet of a deleted project deploys nothing). */
  async find(name: string): Promise<Project | undefined> {
    const json = await this.#redis.hget(this.#keys.projects(), name);
    return json ? (JSON.parse(json) as Project) : undefined;
  }

  async list(): Promise<Project[]> {
    const all = await this.#redis.hgetall(this.#keys.projects());
    return Object.values(all)
      .map((json) => JSON.parse(json) as Project)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<void> {
    if (!(await this.#redis.hdel(this.#keys.projects(), name))) {
      throw notFound('NotFound', `project ${name} does not exist`);
    }
  }
}
