#!/usr/bin/env python3
"""Referral intake under load: THREADS keep-alive connections POST /api/v1/referrals to
HOST:PORT for SECONDS (standard library only). Prints requests/s, p50 and p99 latency.

    python3 tools/intake-load.py HOST PORT PARTNER_KEY THREADS SECONDS

Each request is a different person (ZIP 77002, English), so none is a duplicate.
See BENCHMARKS.md for the numbers and how the server was started."""
import http.client, json, sys, threading, time
host, port, key, threads, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
lat = []; lock = threading.Lock(); stop = time.time() + secs; errors = [0]
def worker(n):
    c = http.client.HTTPConnection(host, port); i = 0; mine = []
    while time.time() < stop:
        i += 1
        body = json.dumps({"zip":"77002","language":"en","first_name":"Load","last_name":f"T{n}x{i}","phone":f"713-{200+n:03d}-{i%10000:04d}",
            "contact_by":"call","reason":"new_coverage","consent":{"accepted":True,"text_version":"2026-11"}})
        t0 = time.perf_counter()
        c.request("POST", "/api/v1/referrals", body, {"Authorization": "Bearer "+key, "Content-Type":"application/json"})
        r = c.getresponse(); r.read()
        mine.append(time.perf_counter() - t0)
        if r.status != 201:
            errors[0] += 1
    with lock: lat.extend(mine)
ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
start = time.time(); [t.start() for t in ts]; [t.join() for t in ts]; el = time.time() - start
lat.sort()
print(f"{len(lat)} requests in {el:.1f} s: {len(lat)/el:.0f}/s, p50 {lat[len(lat)//2]*1000:.1f} ms, p99 {lat[int(len(lat)*0.99)]*1000:.1f} ms, errors {errors[0]}")
