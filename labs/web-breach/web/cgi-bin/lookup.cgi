#!/bin/bash
# Office DNS lookup tool ("temporary", added by a contractor in 2023).
# The host parameter is pasted into a shell command: command injection.
echo "Content-Type: text/plain"; echo
host=$(printf '%b' "$(echo "${QUERY_STRING#host=}" | sed 's/+/ /g; s/%\(..\)/\\x\1/g')")
echo "Lookup: $host"
sh -c "timeout 2 getent hosts $host" || echo "not found"  # the office DNS is slow
