/* shard: identity → shard (see shard.h).  FNV-1a's low bits follow the last
 * bytes of the URL (often a port number) too closely for a plain modulo, so
 * the hash is mixed first (MurmurHash3's fmix64) to keep shards balanced. */
#include "shard.h"

int shard_of(uint64_t identity, int count)
{
    uint64_t h = identity;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return count > 1 ? (int)(h % (uint64_t)count) : 0;
}
