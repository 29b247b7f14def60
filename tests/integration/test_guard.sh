# SPDX-License-Identifier: ISC
# test_guard: the harness refuses to start a tor, or an oniongated, whose configuration has no
# DirAuthority line (such a tor would use the public authorities).

mkdir -p "$PRIVNET_DIR/rogue" "$OG_TMP/rogue-gw"
printf 'SocksPort 0\nDataDirectory %s\n' "$PRIVNET_DIR/rogue" > "$PRIVNET_DIR/rogue/torrc"
printf 'run-dir %s/run\ndata-dir %s/data\n' "$OG_TMP/rogue-gw" "$OG_TMP/rogue-gw" > "$OG_TMP/rogue-gw/oniongate.conf"
guard_pids_before=${#OG_PIDS[@]}
if privnet_start_tor rogue 2>/dev/null; then
	og_fail "privnet refuses a torrc without DirAuthority"
else
	og_pass "privnet refuses a torrc without DirAuthority"
fi
if gw_start "$OG_TMP/rogue-gw" 2>/dev/null; then
	og_fail "the gateway harness refuses a config without DirAuthority"
else
	og_pass "the gateway harness refuses a config without DirAuthority"
fi
og_check "neither started a process" test "${#OG_PIDS[@]}" = "$guard_pids_before"
