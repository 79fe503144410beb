// One test environment per test run: a Redis, a Git server and N Kubernetes clusters,
// started by scripts/run-tests.ts (or `gitfleet-testenv up`) and handed to each test file
// through environment variables, so test files share the expensive servers but not state:
// every test uses its own repositories, Redis key prefix and namespaces.

import {
  type HelmRepository,
  type OciRegistry,
  startHelmRepository,
  startOciRegistry,
} from './chart-repos.ts';
import { type GitServer, startGitServer } from './git-server.ts';
import { type KubeCluster, type KubeClusters, startKubeClusters } from './kube/clusters.ts';
import { type RedisServer, startRedis } from './redis.ts';

export interface TestEnvironment {
  redis: RedisServer;
  git: GitServer;
  helmRepo: HelmRepository;
  oci: OciRegistry;
  kube: KubeClusters;
  /** Variables that describe this environment to a child process (see environmentFromEnv). */
  toEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  /** Number of Kubernetes clusters (0 = none). */
  clusters?: number;
  /** Run kube-controller-manager, kube-scheduler and kwok so workloads become Ready. */
  controllers?: boolean;
}

export async function startEnvironment(options: EnvironmentOptions = {}): Promise<TestEnvironment> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const [redis, git, helmRepo, oci] = await Promise.all([
      startRedis(),
      startGitServer(),
      startHelmRepository(),
      startOciRegistry(),
    ]);
    started.push(redis, git, helmRepo, oci);
    const kube = await startKubeClusters({
      count: options.clusters ?? 2,
      controllers: options.controllers ?? true,
    });
    started.push(kube);
    return {
      redis,
      git,
      helmRepo,
      oci,
      kube,
      toEnv: () => ({
        GITFLEET_TEST_HELM_REPO_URL: helmRepo.url,
        GITFLEET_TEST_HELM_REPO_USERNAME: helmRepo.username,
        GITFLEET_TEST_HELM_REPO_PASSWORD: helmRepo.password,
        GITFLEET_TEST_HELM_REPO_ROOT: helmRepo.root,
        GITFLEET_TEST_OCI_URL: oci.url,
        GITFLEET_TEST_OCI_USERNAME: oci.username,
        GITFLEET_TEST_OCI_PASSWORD: oci.password,
        GITFLEET_TEST_REDIS_URL: redis.url,
        GITFLEET_TEST_GIT_URL: git.url,
        GITFLEET_TEST_GIT_USERNAME: git.username,
        GITFLEET_TEST_GIT_PASSWORD: git.password,
        GITFLEET_TEST_GIT_ROOT: git.root,
        GITFLEET_TEST_KUBECONFIGS: kube.clusters.map((c) => `${c.name}=${c.kubeconfig}`).join(','),
      }),
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

async function stopAll(started: { stop(): Promise<void> }[]): Promise<void> {
  for (const s of started.reverse()) await s.stop();
}

/** What a test file sees of the shared environment. */
export interface SharedEnvironment {
  redisUrl: string;
  git: { url: string; username: string; password: string; root: string };
  /** An HTTP Helm repository (publishChart into its root) and an OCI registry (pushChart). */
  helmRepo: { url: string; username: string; password: string; root: string };
  oci: { url: string; username: string; password: string };
  clusters: Pick<KubeCluster, 'name' | 'kubeconfig'>[];
}

/** Reads the environment started by the test runner; fails with what to do when absent. */
export function environmentFromEnv(): SharedEnvironment {
  const need = (key: string): string => {
    const value = process.env[key];
    if (!value) {
      throw new Error(
        `${key} is not set: run the tests through \`npm test\` (scripts/run-tests.ts), which starts ` +
          'the test environment, or start one with `npx gitfleet-testenv up` and export what it prints',
      );
    }
    return value;
  };
  return {
    redisUrl: need('GITFLEET_TEST_REDIS_URL'),
    git: {
      url: need('GITFLEET_TEST_GIT_URL'),
      username: need('GITFLEET_TEST_GIT_USERNAME'),
      password: need('GITFLEET_TEST_GIT_PASSWORD'),
      root: need('GITFLEET_TEST_GIT_ROOT'),
    },
    helmRepo: {
      url: need('GITFLEET_TEST_HELM_REPO_URL'),
      username: need('GITFLEET_TEST_HELM_REPO_USERNAME'),
      password: need('GITFLEET_TEST_HELM_REPO_PASSWORD'),
      root: need('GITFLEET_TEST_HELM_REPO_ROOT'),
    },
    oci: {
      url: need('GITFLEET_TEST_OCI_URL'),
      username: need('GITFLEET_TEST_OCI_USERNAME'),
      password: need('GITFLEET_TEST_OCI_PASSWORD'),
    },
    clusters: (process.env.GITFLEET_TEST_KUBECONFIGS ?? '')
      .split(',')
      .filter(Boolean)
      .map((entry) => {
        const [name, kubeconfig] = entry.split('=') as [string, string];
        return { name, kubeconfig };
      }),
  };
}
