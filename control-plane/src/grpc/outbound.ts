// What goes down the stream: a desired state cut into chunks. Pure, so chunking is tested
// without a server.
import { type BundleChunk, Compression } from '@gitfleet/proto';
import type { DesiredEntry } from '../store/desired.ts';

/** 1 MiB of compressed payload per message stays well under grpc's 4 MiB default limit. */
export const CHUNK_BYTES = 1024 * 1024;

export function bundleChunks(
  sequence: number,
  entry: DesiredEntry,
  compressed: Buffer | null,
  uncompressedSize: number,
  chunkBytes = CHUNK_BYTES,
): BundleChunk[] {
  const base = {
    sequence,
    fleet: entry.fleet,
    stage: entry.stage,
    revision: entry.revision,
    bundleDigest: entry.digest,
    compression: Compression.COMPRESSION_GZIP,
    uncompressedSize,
  };
  const options = {
    force: entry.apply.force,
    prune: entry.apply.prune,
    allowEmpty: entry.apply.allowEmpty,
    correctDrift: entry.apply.correctDrift,
  };
  // The agent already holds this content: only the revision moves.
  if (compressed === null) {
    return [{ ...base, index: 0, total: 0, data: Buffer.alloc(0), options }];
  }
  const total = Math.max(1, Math.ceil(compressed.length / chunkBytes));
  const chunks: BundleChunk[] = [];
  for (let index = 0; index < total; index++) {
    chunks.push({
      ...base,
      index,
      total,
      data: compressed.subarray(index * chunkBytes, (index + 1) * chunkBytes),
      options: index === 0 ? options : undefined,
    });
  }
  return chunks;
}
