// Stable channel -> partition mapping. FNV-1a (32-bit) over the UTF-8 bytes of the channel
// name, modulo the partition count: the same function nats-server applies in a subject
// mapping `{{partition(n,1)}}`, so library publishers and plain-NATS publishers that go
// through the shipped mapping land on the same partition.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  // Channel names are ASCII (see parseChannel), so the fast path avoids an allocation.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return fnv1a32Bytes(utf8.encode(text));
    hash ^= c;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

function fnv1a32Bytes(bytes: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The partition (0..partitions-1) that owns `channel`. */
export function partitionOf(channel: string, partitions: number): number {
  return fnv1a32(channel) % partitions;
}
