# SPDX-License-Identifier: ISC
# test_dirs: `user` with a data-dir that is not oniongated's own (a stranger's file in it) stops the
# start and leaves that directory exactly as it was: mode, owner, contents (issue 11 item 9: the
# daemon used to make it 0700 and write pool.key into it before refusing).

dirs_dir="$OG_TMP/dirs"
gw_config "$dirs_dir" "tor-option DisableNetwork 1"
mkdir -p "$dirs_dir/lib"
chmod 0751 "$dirs_dir/lib"
touch "$dirs_dir/lib/dpkg.db"
dirs_state() { stat -c '%a %U:%G' "$dirs_dir/lib"; ls -A "$dirs_dir/lib"; }
dirs_before=$(dirs_state)
sed "s|^data-dir .*|data-dir $dirs_dir/lib|" "$dirs_dir/oniongate.conf" > "$dirs_dir/foreign.conf"
echo "user nobody" >> "$dirs_dir/foreign.conf"
dirs_out=$(ip netns exec "$GW_NS" "$OG_TOP/daemon/oniongated" -d -c "$dirs_dir/foreign.conf" 2>&1)
og_check "user with a foreign data-dir stops the start with exit 1" test $? = 1
og_check "... naming the stranger's file" grep -q "$dirs_dir/lib holds 'dpkg.db'" <<<"$dirs_out"
og_check "the foreign data-dir keeps its mode 0751, its owner and its contents (no pool.key)" \
	test "$(dirs_state)" = "$dirs_before"
