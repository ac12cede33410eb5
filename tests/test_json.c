/* test_json.c - JSON text to MessagePack (format/json.c), as used for
 * W&B artifact metadata. */
#include <criterion/criterion.h>

#include <string.h>

#include <msgpack.h>

#include "format/json.h"

/* Convert `text`; on success, the result printed back as JSON by
 * msgpack-c's own printer (an independent reader of what we wrote). */
static int convert(const char *text, char *out, size_t cap)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	msgpack_object o;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc = lin_json_to_msgpack(text, strlen(text), &pk);
	out[0] = 0;
	if (rc == 0) {
		size_t off = 0;
		msgpack_zone_init(&z, 1024);
		cr_assert_eq(msgpack_unpack(sb.data, sb.size, &off, &z, &o),
			     MSGPACK_UNPACK_SUCCESS, "%s", text);
		cr_assert_eq(off, sb.size, "one value: %s", text);
		msgpack_object_print_buffer(out, cap, o);
		msgpack_zone_destroy(&z);
	} else {
		cr_assert_eq(sb.size, 0, "written although refused: %s", text);
	}
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void ok(const char *text, const char *want)
{
	char out[1024];

	cr_assert_eq(convert(text, out, sizeof out), 0, "refused: %s", text);
	cr_assert_str_eq(out, want, "%s: got %s", text, out);
}

static void refused(const char *text)
{
	char out[64];

	cr_assert_eq(convert(text, out, sizeof out), -1, "accepted: %s",
		     text);
}

Test(json, objects_arrays_and_scalars)
{
	ok("{}", "{}");
	ok(" [ ] ", "[]");
	/* msgpack-c prints maps as {k=>v}, floats with %f */
	ok("{\"epochs\": 10, \"val_acc\": 0.97}",
	   "{\"epochs\"=>10, \"val_acc\"=>0.970000}");
	ok("{\"a\":[1,-2,[true,false,null],{\"b\":{}}],\"c\":\"x\"}",
	   "{\"a\"=>[1, -2, [true, false, nil], {\"b\"=>{}}], \"c\"=>\"x\"}");
	ok("18446744073709551615", "18446744073709551615");
	ok("-9223372036854775808", "-9223372036854775808");
	ok("1e2", "100.000000");
	ok("\"caf\\u00e9 \\ud83d\\ude00 \\n\"",
	   "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \n\"");
	ok("\"mod\xc3\xa8le\"", "\"mod\xc3\xa8le\"");
}

Test(json, what_is_not_json_is_refused)
{
	char deep[200];

	refused("");
	refused("{");
	refused("{\"a\":1,}");
	refused("[1 2]");
	refused("{\"a\" 1}");
	refused("{1:2}");
	refused("01");
	refused("1.");
	refused("-");
	refused("tru");
	refused("\"\\x\"");
	refused("\"a\x01\"");
	refused("\"\\ud800\"");
	refused("\"\\udc00\"");
	refused("\"\xff\"");
	refused("{} {}");
	refused("'a'");
	/* nesting: LIN_JSON_MAX_DEPTH levels are converted, one more not */
	memset(deep, '[', LIN_JSON_MAX_DEPTH);
	memset(deep + LIN_JSON_MAX_DEPTH, ']', LIN_JSON_MAX_DEPTH);
	deep[2 * LIN_JSON_MAX_DEPTH] = 0;
	{
		char out[1024];
		cr_assert_eq(convert(deep, out, sizeof out), 0);
	}
	memset(deep, '[', LIN_JSON_MAX_DEPTH + 1);
	memset(deep + LIN_JSON_MAX_DEPTH + 1, ']', LIN_JSON_MAX_DEPTH + 1);
	deep[2 * LIN_JSON_MAX_DEPTH + 2] = 0;
	refused(deep);
}
