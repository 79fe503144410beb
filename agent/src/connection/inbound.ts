// Reassembles desired states from the chunks of the Connect stream and checks each against
// its content digest before anyone applies it. Pure: no IO.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { type BundleChunk, Compression } from '@gitfleet/proto';
import type { KubeObject } from '../objects.ts';

export interface FleetOptions {
  force: boolean;
  prune: boolean;
  allowEmpty: boolean;
  correctDrift: boolean;
}

export interface DesiredState {
  sequence: number;
  fleet: string;
  stage: string;
  revision: string;
  digest: string;
  options: FleetOptions;
  /** The objects to apply, or null when only the revision moved (same content as held). */
  objects: KubeObject[] | null;
}

export class BundleError extends Error {
  readonly code = 'BundleInvalid';
}

const DEFAULT_OPTIONS: FleetOptions = { force: false, prune: true, allowEmpty: false, correctDrift: true };

export class ChunkAssembler {
  #pending = new Map<string, { first: BundleChunk; parts: Uint8Array[] }>();

  /** Feeds one chunk; returns the desired state once its last chunk has arrived. */
  accept(chunk: BundleChunk): DesiredState | undefined {
    const options = chunk.options ?? DEFAULT_OPTIONS;
    if (chunk.total === 0) {
      return { ...meta(chunk), options, objects: null };
    }
    let pending = this.#pending.get(chunk.fleet);
    // A new sequence for the fleet supersedes a half-received older one.
    if (chunk.index === 0 || !pending || pending.first.sequence !== chunk.sequence) {
      if (chunk.index !== 0) {
        throw new BundleError(
          `chunk ${chunk.index} of sequence ${chunk.sequence} for fleet ${chunk.fleet} arrived without its first chunk`,
        );
      }
      pending = { first: chunk, parts: [] };
      this.#pending.set(chunk.fleet, pending);
    }
    if (chunk.index !== pending.parts.length) {
      this.#pending.delete(chunk.fleet);
      throw new BundleError(
        `chunk ${chunk.index} of fleet ${chunk.fleet} arrived out of order (expected ${pending.parts.length})`,
      );
    }
    pending.parts.push(chunk.data);
    if (pending.parts.length < chunk.total) return undefined;
    this.#pending.delete(chunk.fleet);
    const payload = Buffer.concat(pending.parts);
    const raw = pending.first.compression === Compression.COMPRESSION_GZIP ? gunzipSync(payload) : payload;
    return {
      ...meta(pending.first),
      options: pending.first.options ?? DEFAULT_OPTIONS,
      objects: decodeBundle(raw, pending.first.bundleDigest, pending.first.fleet),
    };
  }
}

function meta(chunk: BundleChunk) {
  return {
    sequence: chunk.sequence,
    fleet: chunk.fleet,
    stage: chunk.stage,
    revision: chunk.revision,
    digest: chunk.bundleDigest,
  };
}

/** The bundle's bytes are canonical JSON of its objects; its digest is their sha256. */
export function decodeBundle(raw: Uint8Array, digest: string, fleet: string): KubeObject[] {
  const actual = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  if (actual !== digest) {
    throw new BundleError(
      `bundle for fleet ${fleet} does not match its digest (got ${actual}, expected ${digest}); it was not applied`,
    );
  }
  const parsed = JSON.parse(Buffer.from(raw).toString('utf8')) as KubeObject[] | { objects?: KubeObject[] };
  const objects = Array.isArray(parsed) ? parsed : parsed.objects;
  if (!Array.isArray(objects)) throw new BundleError(`bundle for fleet ${fleet} has no objects array`);
  return objects;
}
