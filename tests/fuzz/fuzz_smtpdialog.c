/* SPDX-License-Identifier: ISC */
/* libFuzzer target: the relay check's SMTP dialogue fed an arbitrary server, in arbitrary slices
 * (the first byte of the input picks the slice length); commands are taken as a client would. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtpdialog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpdialog d;
	char out[SMTPDIALOG_CMD_MAX];
	if (size < 1)
		return 0;
	size_t slice = (size_t)(data[0] % 32) + 1;
	smtpdialog_init(&d, "oniongate.invalid", "check@oniongate.invalid", "relay-test@third.invalid");
	for (size_t off = 1; off < size; off += slice) {
		size_t len = size - off < slice ? size - off : slice;
		smtpdialog_feed(&d, (const char *)data + off, len);
		if (smtpdialog_take(&d, out) >= SMTPDIALOG_CMD_MAX || d.line_len > SMTPDIALOG_LINE_MAX ||
		    d.total > SMTPDIALOG_TOTAL_MAX + 1 || strlen(d.error) >= sizeof(d.error))
			__builtin_trap();
	}
	smtpdialog_eof(&d);
	smtpdialog_open_relay(&d);
	return 0;
}
