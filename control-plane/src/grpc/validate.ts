// What an agent may send, checked before anything is stored or acted on. An agent is trusted
// with its own cluster's status only, and even then a buggy or hostile one must not be able to
// corrupt stored state (a fleet name with '#' would collide with the status hash's bookkeeping
// fields), freeze it (a sequence far in the future makes every later report look stale) or
// bloat Redis (every report is kept 50 times in the history). Pure: unit-tested beside.
import {
  Action,
  type AgentInfo,
  API_VERSIONS_LIMITS,
  type FleetStatus,
  Health,
  type Hello,
  phaseFromProto,
} from '@gitfleet/proto';

/** Fleet names as the REST API accepts them (DNS label). */
const FLEET_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DAY_MS = 24 * 3600 * 1000;
/** Largest millisecond count a Date can hold. */
const MAX_DATE_MS = 8.64e15;

export const REPORT_LIMITS = {
  /** Short identifiers: revisions (40 or 64 hex), digests, versions, object reasons. */
  shortString: 256,
  /** Kubernetes names, namespaces, kinds and apiVersions are at most 253 characters. */
  name: 253,
  /** A sentence for a person, including the API server's own words. */
  message: 32 * 1024,
  /** One bundle's objects; a report is also bounded by the gRPC message limit (16 MiB). */
  objects: 100_000,
  /** Fleets an agent may say it runs in one Hello. */
  running: 10_000,
  /** Entries of an object's last drift correction (changed fields, field managers). */
  driftEntries: 64,
} as const;

// UNSPECIFIED (0) is tolerated for actions and health (stored as 'unknown'); UNRECOGNIZED is not.
const ACTIONS = new Set<number>(Object.values(Action).filter((v) => v >= 0));
const HEALTHS = new Set<number>(Object.values(Health).filter((v) => v >= 0));

function fleetProblem(fleet: string, where: string): string | null {
  return FLEET_NAME.test(fleet)
    ? null
    : `${where} ${JSON.stringify(fleet.slice(0, 80))} is not a fleet name (1-63 lowercase letters, digits and '-')`;
}

function tooLong(value: string, max: number, where: string): string | null {
  return value.length > max
    ? `${where} is ${value.length} characters long; at most ${max} are accepted`
    : null;
}

/** The first problem of a ReportStatus request, or null when it may be stored. */
export function reportProblem(sequence: number, status: FleetStatus | undefined, now: number): string | null {
  if (!status) return 'a report needs a status';
  if (!Number.isSafeInteger(sequence) || sequence <= 0) return 'a report needs a sequence > 0';
  // Agents number reports with wall-clock milliseconds; one far ahead would make every later
  // report of the fleet look stale until the clock caught up with it.
  if (sequence > now + DAY_MS) {
    return `sequence ${sequence} is more than a day ahead of the control plane's clock (${now}); report sequences are wall-clock milliseconds — check the agent's clock`;
  }
  const fleet = fleetProblem(status.fleet, 'status.fleet');
  if (fleet) return fleet;
  if (phaseFromProto(status.phase) === undefined) {
    return `status.phase ${status.phase} is not a phase; send one of PENDING, APPLYING, PROGRESSING, READY, FAILED, DRIFTED`;
  }
  for (const [key, max] of [
    ['desiredRevision', REPORT_LIMITS.shortString],
    ['desiredDigest', REPORT_LIMITS.shortString],
    ['appliedRevision', REPORT_LIMITS.shortString],
    ['attemptedRevision', REPORT_LIMITS.shortString],
    ['message', REPORT_LIMITS.message],
  ] as const) {
    const problem = tooLong(status[key], max, `status.${key}`);
    if (problem) return problem;
  }
  if (status.observedAtUnixMs < 0 || status.observedAtUnixMs > MAX_DATE_MS) {
    return `status.observedAtUnixMs ${status.observedAtUnixMs} is not a time; send milliseconds since the Unix epoch (or 0)`;
  }
  if (status.objects.length > REPORT_LIMITS.objects) {
    return `status.objects has ${status.objects.length} entries; at most ${REPORT_LIMITS.objects} are accepted`;
  }
  for (const [i, o] of status.objects.entries()) {
    const where = `status.objects[${i}]`;
    if (!ACTIONS.has(o.action)) return `${where}.action ${o.action} is not an action`;
    if (!HEALTHS.has(o.health)) return `${where}.health ${o.health} is not a health`;
    for (const [key, max] of [
      ['apiVersion', REPORT_LIMITS.name],
      ['kind', REPORT_LIMITS.name],
      ['namespace', REPORT_LIMITS.name],
      ['name', REPORT_LIMITS.name],
      ['reason', REPORT_LIMITS.shortString],
      ['message', REPORT_LIMITS.message],
    ] as const) {
      const problem = tooLong(o[key], max, `${where}.${key}`);
      if (problem) return problem;
    }
    for (const key of ['driftChanges', 'driftManagers'] as const) {
      const list = o[key] ?? [];
      if (list.length > REPORT_LIMITS.driftEntries) {
        return `${where}.${key} has ${list.length} entries; at most ${REPORT_LIMITS.driftEntries} are accepted`;
      }
      for (const [j, entry] of list.entries()) {
        const problem = tooLong(entry, REPORT_LIMITS.message, `${where}.${key}[${j}]`);
        if (problem) return problem;
      }
    }
  }
  return null;
}

/** The first problem of the agent description in Register or Hello, or null. */
export function agentInfoProblem(agent: AgentInfo | undefined, where: string): string | null {
  if (!agent) return null;
  return (
    tooLong(agent.version, REPORT_LIMITS.shortString, `${where}.version`) ??
    tooLong(agent.kubernetesVersion, REPORT_LIMITS.shortString, `${where}.kubernetesVersion`) ??
    apiVersionsProblem(agent.apiVersions ?? [], `${where}.apiVersions`)
  );
}

function apiVersionsProblem(list: readonly string[], where: string): string | null {
  if (list.length > API_VERSIONS_LIMITS.entries) {
    return `${where} has ${list.length} entries; at most ${API_VERSIONS_LIMITS.entries} are accepted`;
  }
  let bytes = 0;
  for (const [i, v] of list.entries()) {
    bytes += v.length;
    if (bytes > API_VERSIONS_LIMITS.bytes) {
      return `${where} holds more than ${API_VERSIONS_LIMITS.bytes} characters; at most that many are accepted`;
    }
    if (v.length > API_VERSIONS_LIMITS.length || !API_VERSIONS_LIMITS.entry.test(v)) {
      return `${where}[${i}] ${JSON.stringify(v.slice(0, 80))} is not an API version: use "group/version" or "group/version/Kind"`;
    }
  }
  return null;
}

/** The first problem of a Hello, or null. */
export function helloProblem(hello: Hello): string | null {
  const agent = agentInfoProblem(hello.agent, 'hello.agent');
  if (agent) return agent;
  if (hello.running.length > REPORT_LIMITS.running) {
    return `hello.running has ${hello.running.length} entries; at most ${REPORT_LIMITS.running} are accepted`;
  }
  for (const [i, r] of hello.running.entries()) {
    const where = `hello.running[${i}]`;
    const problem =
      fleetProblem(r.fleet, `${where}.fleet`) ??
      tooLong(r.revision, REPORT_LIMITS.shortString, `${where}.revision`) ??
      tooLong(r.bundleDigest, REPORT_LIMITS.shortString, `${where}.bundleDigest`);
    if (problem) return problem;
  }
  return null;
}

// grpc-js answers a request that does not decode with INTERNAL, which reads as a server bug
// and is logged nowhere. The server decodes leniently instead (see server.ts): a message that
// does not decode arrives as this marker, and the handler refuses it with INVALID_ARGUMENT.
const UNDECODABLE = Symbol('undecodable');

/** Wraps a decoder so that a failure yields a marker instead of throwing. */
export function lenientDecoder<T>(decode: (buf: Buffer) => T, type: string): (buf: Buffer) => T {
  return (buf) => {
    try {
      return decode(buf);
    } catch (err) {
      return {
        [UNDECODABLE]: `the message is not a valid ${type}: ${(err as Error).message}`,
      } as unknown as T;
    }
  };
}

/** Why a message did not decode, or null when it did. */
export function decodeProblem(message: unknown): string | null {
  return typeof message === 'object' && message !== null && UNDECODABLE in message
    ? String((message as { [UNDECODABLE]: unknown })[UNDECODABLE])
    : null;
}
