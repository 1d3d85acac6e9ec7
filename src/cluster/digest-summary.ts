/**
 * The compact form of a clone digest (PROTOCOL.md 2.8): the number of `(cloneId, version)`
 * entries and a hash of them, so links of a mesh in sync exchange a few bytes each
 * `cloneInterval` instead of every clone's id and version.
 * @module
 */
import { createHash } from 'node:crypto';

/** Hex digits of the SHA-256 kept as the digest hash (64 bits). */
const HASH_HEX_DIGITS = 16;

/**
 * The hash of digest `entries`: SHA-256 over, for each entry in the order of its id (UTF-16
 * code units), the id's UTF-8 byte length in decimal, a space, the id, a space, the version in
 * decimal and a line feed; the first 16 lowercase hex digits.
 */
export function digestHash(entries: readonly (readonly [string, number])[]): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256');
  for (const [id, version] of sorted) {
    hash.update(`${Buffer.byteLength(id)} ${id} ${version}\n`);
  }
  return hash.digest('hex').slice(0, HASH_HEX_DIGITS);
}
