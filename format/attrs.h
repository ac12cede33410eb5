/* attrs.h - the attribute names of stored maps as one-byte codes.
 *
 * The maps the store keeps (a node's attributes, a fact's attributes,
 * a source's and a collection's bookkeeping) repeat the same few dozen
 * names in every value: a third of their bytes at 100,000 runs. A name
 * of the table below is stored as its code, a MessagePack positive
 * fixint, instead of its string; readers get the string back when they
 * decode, so nothing above the codec sees a code. Codes are part of the
 * schema (STORE.md "Encodings"): never renumbered, only appended. */
#ifndef LIN_ATTRS_H
#define LIN_ATTRS_H

#include <stddef.h>
#include <msgpack.h>

/* The code of the attribute name p[0..n), or -1 when it has none. */
int lin_attr_code(const char *p, size_t n);

/* The name of `code`, or NULL when no name has it. */
const char *lin_attr_name(unsigned code, size_t *n);

/* Write into out[0..cap) the MessagePack value in[0..n) with the keys
 * of its map that have a code replaced by the code: the keys of the
 * value itself when it is a map, of each of its map elements when it is
 * an array (a fact). Nested values are copied as they are (the user's
 * metadata keeps its keys). Returns the bytes the coded value takes,
 * which may exceed cap (nothing past cap is written: call again with
 * that much room), or 0 when `in` is not one well-formed value (store
 * it as it is). */
size_t lin_attrs_encode(const void *in, size_t n, unsigned char *out,
			size_t cap);

/* In a decoded value: the coded keys of a map, or of an array's map
 * elements, become their names again (pointing at static strings). */
void lin_attrs_decode(msgpack_object *o);

#endif
