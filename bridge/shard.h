/* shard: which of N instances sharing one target list scrapes a target.
 * A target's shard depends only on its identity (target_identity: the module
 * entry's namespace and the full URL), never on its position in the list, so
 * adding or removing other targets moves nothing and a target moves only
 * when the count changes.  Pure. */
#ifndef EXPVARBEAT_SHARD_H
#define EXPVARBEAT_SHARD_H

#include <stdint.h>

/* The shard in [0, count) that owns a target of this identity. */
int shard_of(uint64_t identity, int count);

#endif
