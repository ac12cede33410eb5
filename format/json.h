/* json.h - JSON text to one MessagePack value: W&B stores an artifact's
 * metadata as JSON text, runlog as a MessagePack map; converted, both
 * are stored and shown the same way (a JSON object in --json output). */
#ifndef LIN_JSON_H
#define LIN_JSON_H

#include <stddef.h>

#include <msgpack.h>

#include "record.h"

/* Deepest nesting of arrays and objects converted: as for runlog
 * metadata (record.h). */
#define LIN_JSON_MAX_DEPTH LIN_METADATA_MAX_DEPTH

/* Append the JSON text at `p` (`n` bytes: one value, RFC 8259, with
 * whitespace around it) to `pk` as one MessagePack value: objects as
 * maps, arrays as arrays, integers that fit 64 bits as integers, other
 * numbers as float64, strings as str (escapes decoded to UTF-8). The
 * text is read twice (once to check it and count each container's
 * items, once to write), without recursion. Returns 0, or -1 when the
 * text is not JSON, nests deeper than LIN_JSON_MAX_DEPTH or memory runs
 * out; nothing is written then. */
int lin_json_to_msgpack(const void *p, size_t n, msgpack_packer *pk);

#endif
