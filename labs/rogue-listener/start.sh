#!/bin/bash
# The container's main process (as shop): start the shop and its metrics
# exporter, then replay what the intruder left behind.
cd /srv/shop && python3 -m http.server 8080 >/dev/null 2>&1 &
python3 -m http.server 9100 --directory /srv/metrics >/dev/null 2>&1 &

# The intruder's listener: a copy of netcat with the per-trainee flag (written
# by the platform as /var/lib/shop/seed) appended to it, started under a kernel
# thread's name, then deleted from disk. Only the running process keeps it.
seed=/var/lib/shop/seed
if [ -f "$seed" ]; then
  cat /usr/bin/nc.openbsd "$seed" > /var/tmp/.kw && chmod 700 /var/tmp/.kw && rm -f "$seed"
  (exec -a "[kworker/u4:2]" /var/tmp/.kw -lk 46211 >/dev/null 2>&1) &
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -e "/proc/$!/exe" ] && [ "$(readlink "/proc/$!/exe")" != "/usr/bin/bash" ] && break
    sleep 0.2
  done
  rm -f /var/tmp/.kw
fi
exec sleep infinity
