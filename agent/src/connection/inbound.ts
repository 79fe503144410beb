// Reassembles desired states from the chunks of the Connect stream and checks each against
// its content digest before anyone applies it. Pure: no IO.
import { type BundleChunk, Compression } from '@gitfleet/proto';
import {
  type ApplySettings,
  BundleError,
  DEFAULT_APPLY,
  decodeBundle,
  decompressBundle,
} from '@gitfleet/proto/core';
import type { KubeObject } from '../objects.ts';

export interface DesiredState {
  sequence: number;
  fleet: string;
  stage: string;
  revision: string;
  digest: string;
  options: ApplySettings;
  /** The objects to apply, or null when only the revision moved (same content as held). */
  objects: KubeObject[] | null;
}

/**
 * Largest bundle the agent accepts, uncompressed. Bundles have no ceiling on the wire (more
 * chunks), but the agent holds one in memory to apply it: a corrupt size or a gzip bomb must not
 * exhaust it. 256 MiB of Kubernetes objects is far beyond any real fleet.
 */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

interface Pending {
  first: BundleChunk;
  parts: Uint8Array[];
  bytes: number;
}

export class ChunkAssembler {
  readonly #maxBytes: number;
  #pending = new Map<string, Pending>();

  constructor(options: { maxBundleBytes?: number } = {}) {
    this.#maxBytes = options.maxBundleBytes ?? MAX_BUNDLE_BYTES;
  }

  /**
   * Feeds one chunk; returns the desired state once its last chunk has arrived and checked
   * out. Throws BundleError for anything inconsistent: nothing of that desired state is
   * returned, so nothing of it is applied, and the next desired state starts afresh.
   */
  accept(chunk: BundleChunk): DesiredState | undefined {
    const options = chunk.options ?? DEFAULT_APPLY;
    if (chunk.total === 0) {
      return { ...meta(chunk), options, objects: null };
    }
    const what = `desired state ${chunk.sequence} for fleet ${chunk.fleet}`;
    let pending = this.#pending.get(chunk.fleet);
    // A new sequence for the fleet supersedes a half-received older one.
    if (chunk.index === 0 || !pending || pending.first.sequence !== chunk.sequence) {
      if (chunk.index !== 0) {
        this.#pending.delete(chunk.fleet);
        throw new BundleError(`chunk ${chunk.index} of ${what} arrived without its first chunk`);
      }
      if (chunk.uncompressedSize > this.#maxBytes) {
        this.#pending.delete(chunk.fleet);
        throw new BundleError(
          `${what} is ${chunk.uncompressedSize} bytes, over the agent's limit of ${this.#maxBytes}; split the fleet`,
        );
      }
      pending = { first: chunk, parts: [], bytes: 0 };
      this.#pending.set(chunk.fleet, pending);
    }
    const fail = (reason: string): never => {
      this.#pending.delete(chunk.fleet);
      throw new BundleError(`${what}: ${reason}; it was not applied`);
    };
    if (chunk.index !== pending.parts.length) {
      fail(
        `chunk ${chunk.index} arrived out of order (expected ${pending.parts.length}): a chunk is missing`,
      );
    }
    const first = pending.first;
    if (
      chunk.total !== first.total ||
      chunk.bundleDigest !== first.bundleDigest ||
      chunk.revision !== first.revision ||
      chunk.compression !== first.compression ||
      chunk.uncompressedSize !== first.uncompressedSize
    ) {
      fail(`chunk ${chunk.index} does not belong with chunk 0 (total, digest, revision or size differ)`);
    }
    pending.bytes += chunk.data.length;
    // Compressed data is never much larger than what it compresses.
    if (pending.bytes > this.#maxBytes + 1024 * 1024) {
      fail(`its chunks add up to more than the agent's limit of ${this.#maxBytes} bytes`);
    }
    pending.parts.push(chunk.data);
    if (pending.parts.length < chunk.total) return undefined;
    this.#pending.delete(chunk.fleet);
    const raw = decompress(Buffer.concat(pending.parts), first, this.#maxBytes, what);
    return {
      ...meta(first),
      options: first.options ?? DEFAULT_APPLY,
      objects: decodeBundle(raw, first.bundleDigest, first.fleet) as KubeObject[],
    };
  }
}

/** The bundle's bytes, never more than the declared size (nor the limit): no gzip bomb gets through. */
function decompress(payload: Buffer, first: BundleChunk, maxBytes: number, what: string): Buffer {
  const declared = first.uncompressedSize;
  const limit = declared > 0 ? Math.min(declared, maxBytes) : maxBytes;
  let raw: Buffer;
  if (first.compression === Compression.COMPRESSION_GZIP) {
    try {
      raw = decompressBundle(payload, limit);
    } catch (err) {
      const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new BundleError(
        tooLarge
          ? `${what} decompresses to more than ${limit} bytes (declared ${declared}); it was not applied`
          : `${what} is not valid gzip (${(err as Error).message}); it was not applied`,
      );
    }
  } else if (
    first.compression === Compression.COMPRESSION_NONE ||
    first.compression === Compression.COMPRESSION_UNSPECIFIED
  ) {
    raw = payload;
  } else {
    throw new BundleError(`${what} uses compression ${first.compression}, which this agent does not know`);
  }
  if (raw.length > limit || (declared > 0 && raw.length !== declared)) {
    throw new BundleError(
      `${what} is ${raw.length} bytes uncompressed, but ${declared} were declared; it was not applied`,
    );
  }
  return raw;
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
