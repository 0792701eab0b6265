"""Write the lab's two packet captures, the same bytes on every build (fixed seed).

dmz.pcap          a web server's switch port: an nmap-like SYN scan from one address,
                  then that address signs in to /admin over plain HTTP; ordinary
                  visitors around it.
workstation.pcap  an office PC for an hour: browsing, an HTTP beacon to one C2 server
                  every 45 s (give or take 3 s), and a burst of DNS queries that carry
                  a file out in base32 labels.

Usage: make_captures.py OUTPUT_DIR. Only the standard library: packets are built with
struct, checksums included, and written as classic pcap (Ethernet link type).
"""

from __future__ import annotations

import base64
import random
import socket
import statistics
import struct
import sys
from pathlib import Path

SEED = 20261109
DMZ_START = 1794261600.0  # 2026-11-09T22:00:00Z
WORKSTATION_START = 1794297600.0  # 2026-11-10T08:00:00Z

# -- the DMZ ------------------------------------------------------------------------
WEB_SERVER = "172.16.20.10"
SCANNER = "203.0.113.66"
OPEN_PORTS = (22, 80, 443, 3306)
FILTERED_PORTS = (135, 139, 445)  # dropped by the firewall: no answer, one retry
ADMIN_USER = "webadmin"
ADMIN_PASSWORD = "Harbour-Lights-2026"  # noqa: S105 - the leaked password the trainee finds
VISITORS = ("198.51.100.23", "198.51.100.140", "192.0.2.77", "192.0.2.201", "203.0.113.9")

# -- the workstation ----------------------------------------------------------------
WORKSTATION = "10.20.30.41"
RESOLVER = "10.20.30.1"
C2_DOMAIN = "cdn.statuspulse.example"
C2_ADDRESS = "198.51.100.77"
BEACON_SECONDS = 45
BEACON_JITTER = 3.0
EXFIL_DOMAIN = "up.filesync-cache.example"
EXFIL_FILE = "salaries-2026-q3.csv"  # 20 bytes: base32 without padding
SITES = {
    "www.example.com": "192.0.2.80",
    "intranet.corp.example": "10.20.1.15",
    "mail.corp.example": "10.20.1.25",
    "news.example.org": "203.0.113.120",
    "docs.example.net": "192.0.2.150",
    "weather.example.org": "203.0.113.45",
}

rng = random.Random(SEED)


def mac_of(ip: str) -> bytes:
    """Hosts outside the local networks are reached through the router."""
    if ip.startswith(("10.", "172.16.")):
        return bytes([0x02, 0x42]) + socket.inet_aton(ip)
    return bytes.fromhex("00005e0001fe")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Capture:
    """Packets with their times; written sorted by time."""

    def __init__(self) -> None:
        self.packets: list[tuple[float, bytes]] = []
        self.ip_ids: dict[str, int] = {}

    def ip(self, t: float, src: str, dst: str, proto: int, payload: bytes, ttl: int) -> None:
        ident = self.ip_ids.get(src, rng.randrange(1, 60000))
        self.ip_ids[src] = (ident + 1) & 0xFFFF
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(payload),
            ident,
            0x4000,
            ttl,
            proto,
            0,
            socket.inet_aton(src),
            socket.inet_aton(dst),
        )
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        frame = mac_of(dst) + mac_of(src) + b"\x08\x00" + header + payload
        self.packets.append((t, frame))

    def tcp(self, t, src, sport, dst, dport, seq, ack, flags, window, ttl, options=b"", data=b""):
        offset = (20 + len(options)) // 4
        segment = struct.pack(
            "!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0
        )
        segment += options + data
        pseudo = (
            socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(segment))
        )
        segment = segment[:16] + struct.pack("!H", checksum(pseudo + segment)) + segment[18:]
        self.ip(t, src, dst, 6, segment, ttl)

    def udp(self, t, src, sport, dst, dport, data, ttl):
        datagram = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
        pseudo = (
            socket.inet_aton(src)
            + socket.inet_aton(dst)
            + struct.pack("!BBH", 0, 17, len(datagram))
        )
        datagram = (
            datagram[:6] + struct.pack("!H", checksum(pseudo + datagram) or 0xFFFF) + datagram[8:]
        )
        self.ip(t, src, dst, 17, datagram, ttl)

    def write(self, path: Path) -> None:
        with path.open("wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, frame in sorted(self.packets, key=lambda p: p[0]):
                micros = round(t * 1_000_000)
                out.write(
                    struct.pack(
                        "<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)
                    )
                )
                out.write(frame)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
# A Linux client's SYN options: MSS 1460, SACK permitted, timestamps, window scale 7.
LINUX_SYN = bytes.fromhex("020405b40402080a") + b"\0" * 8 + bytes.fromhex("01030307")
# A Windows client's: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted.
WINDOWS_SYN = bytes.fromhex("020405b40103030801010402")
# A Linux server's SYN/ACK options: MSS 1460, NOP, NOP, SACK permitted, NOP, window scale 7.
SERVER_SYN_ACK = bytes.fromhex("020405b40101040201030307")


class Session:
    """One TCP connection with real sequence numbers, so tshark can follow it."""

    def __init__(self, cap, client, cport, server, sport, client_ttl, server_ttl, syn_options):
        self.cap, self.client, self.cport, self.server, self.sport = (
            cap,
            client,
            cport,
            server,
            sport,
        )
        self.ttl = {client: client_ttl, server: server_ttl}
        self.seq = {client: rng.getrandbits(32), server: rng.getrandbits(32)}
        self.syn_options = syn_options

    def _send(self, t, src, flags, data=b"", options=b"", window=None):
        dst = self.server if src == self.client else self.client
        sport, dport = (self.cport, self.sport) if src == self.client else (self.sport, self.cport)
        ack = 0 if flags == SYN else self.seq[dst]
        self.cap.tcp(
            t,
            src,
            sport,
            dst,
            dport,
            self.seq[src],
            ack,
            flags,
            window or self._window(src, flags),
            self.ttl[src],
            options,
            data,
        )
        self.seq[src] = (self.seq[src] + len(data) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF

    def _window(self, src: str, flags: int) -> int:
        # after the handshake the window is scaled (window scale 7 and 8)
        if flags & SYN:
            return 64240 if src == self.client else 65160
        return 1026 if src == self.client else 509

    def open(self, t: float, rtt: float) -> float:
        self._send(t, self.client, SYN, options=self.syn_options)
        self._send(t + rtt, self.server, SYN | ACK, options=SERVER_SYN_ACK)
        self._send(t + rtt + 0.0002, self.client, ACK)
        return t + rtt + 0.0003

    def exchange(self, t: float, rtt: float, request: bytes, response: bytes) -> float:
        """The client sends request; the server acks and answers in segments of 1448."""
        self._send(t, self.client, PSH | ACK, request)
        t += rtt
        for i in range(0, len(response), 1448):
            self._send(
                t,
                self.server,
                PSH | ACK if i + 1448 >= len(response) else ACK,
                response[i : i + 1448],
            )
            t += 0.0004
        self._send(t + 0.0002, self.client, ACK)
        return t + 0.0005

    def close(self, t: float, rtt: float) -> float:
        self._send(t, self.client, FIN | ACK)
        self._send(t + rtt, self.server, FIN | ACK)
        self._send(t + rtt + 0.0002, self.client, ACK)
        return t + rtt + 0.0003


def http_response(status: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nServer: nginx/1.24.0\r\nDate: Mon, 09 Nov 2026 22:08:30 GMT\r\n"
        f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n{extra}"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


def tls_bytes(kind: int, size: int) -> bytes:
    """A TLS record header and random bytes: what encrypted traffic looks like to us."""
    return struct.pack("!BHH", kind, 0x0303, size - 5) + rng.randbytes(size - 5)


def https_visit(cap, t, client, server, client_ttl, server_ttl, syn_options, down: int) -> float:
    s = Session(
        cap, client, rng.randrange(49152, 65535), server, 443, client_ttl, server_ttl, syn_options
    )
    rtt = rng.uniform(0.01, 0.06)
    t = s.open(t, rtt)
    t = s.exchange(t, rtt, tls_bytes(0x16, 517), tls_bytes(0x16, 2900))
    t = s.exchange(t + 0.001, rtt, tls_bytes(0x17, rng.randrange(300, 700)), tls_bytes(0x17, down))
    return s.close(t + rng.uniform(0.5, 3), rtt)


# -- dmz.pcap -----------------------------------------------------------------------


def syn_scan(cap: Capture, t: float) -> float:
    ports = list(range(1, 1025)) + [1433, 3306, 3389, 5432, 5900, 8000, 8080, 8443, 9200]
    rng.shuffle(ports)
    source_port = 61522  # nmap keeps one source port for a scan
    for port in ports:
        seq = rng.getrandbits(32)
        cap.tcp(
            t,
            SCANNER,
            source_port,
            WEB_SERVER,
            port,
            seq,
            0,
            SYN,
            1024,
            44,
            bytes.fromhex("020405b4"),
        )
        rtt = rng.uniform(0.018, 0.024)
        if port in OPEN_PORTS:
            server_seq = rng.getrandbits(32)
            cap.tcp(
                t + rtt,
                WEB_SERVER,
                port,
                SCANNER,
                source_port,
                server_seq,
                seq + 1,
                SYN | ACK,
                65160,
                64,
                SERVER_SYN_ACK,
            )
            # the scanner never completes the handshake: it resets it
            cap.tcp(t + 2 * rtt, SCANNER, source_port, WEB_SERVER, port, seq + 1, 0, RST, 0, 44)
        elif port in FILTERED_PORTS:
            cap.tcp(
                t + 1.0,
                SCANNER,
                source_port + 1,
                WEB_SERVER,
                port,
                seq,
                0,
                SYN,
                1024,
                44,
                bytes.fromhex("020405b4"),
            )
        else:
            cap.tcp(t + rtt, WEB_SERVER, port, SCANNER, source_port, 0, seq + 1, RST | ACK, 0, 64)
        t += rng.uniform(0.0015, 0.0035)
    return t


def admin_sign_in(cap: Capture, t: float) -> float:
    host = f"Host: {WEB_SERVER}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n"
    body = f"username={ADMIN_USER}&password={ADMIN_PASSWORD}&next=%2Fadmin%2F".encode()
    pages = [
        (
            f"GET / HTTP/1.1\r\n{host}\r\n".encode(),
            http_response(
                "200 OK",
                b"<html><head><title>Harbour Logistics</title></head><body>Welcome</body></html>\n",
            ),
        ),
        (
            f"GET /robots.txt HTTP/1.1\r\n{host}\r\n".encode(),
            http_response("200 OK", b"User-agent: *\nDisallow: /admin/\n"),
        ),
        (
            f"GET /admin/ HTTP/1.1\r\n{host}\r\n".encode(),
            http_response("302 Found", b"", "Location: /admin/login\r\n"),
        ),
        (
            (
                "POST /admin/login HTTP/1.1\r\n"
                + host
                + f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body,
            http_response(
                "302 Found",
                b"",
                "Location: /admin/\r\nSet-Cookie: admin_session=9f1c44be07d2; HttpOnly\r\n",
            ),
        ),
        (
            f"GET /admin/ HTTP/1.1\r\n{host}Cookie: admin_session=9f1c44be07d2\r\n\r\n".encode(),
            http_response(
                "200 OK",
                b"<html><body><h1>Site administration</h1><a href='/admin/upload'>Upload</a></body></html>\n",
            ),
        ),
    ]
    for request, response in pages:
        s = Session(cap, SCANNER, rng.randrange(40000, 60000), WEB_SERVER, 80, 50, 64, LINUX_SYN)
        rtt = rng.uniform(0.02, 0.03)
        t = s.open(t, rtt)
        t = s.exchange(t, rtt, request, response)
        t = s.close(t + 0.001, rtt) + rng.uniform(2, 9)
    return t


def dmz_capture(path: Path) -> None:
    cap = Capture()
    t = DMZ_START
    while t < DMZ_START + 900:  # ordinary visitors for 15 minutes
        visitor = rng.choice(VISITORS)
        https_visit(
            cap,
            t,
            visitor,
            WEB_SERVER,
            rng.choice((49, 52, 113)),
            64,
            LINUX_SYN,
            rng.randrange(3000, 20000),
        )
        t += rng.uniform(10, 60)
    t = syn_scan(cap, DMZ_START + 191.25)
    admin_sign_in(cap, t + 312.5)
    cap.write(path)


# -- workstation.pcap ---------------------------------------------------------------


def dns_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_exchange(cap: Capture, t: float, name: str, address: str | None, ttl: int = 300) -> float:
    ident, port = rng.getrandbits(16), rng.randrange(49152, 65535)
    question = dns_name(name) + struct.pack("!HH", 1, 1)
    cap.udp(
        t,
        WORKSTATION,
        port,
        RESOLVER,
        53,
        struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question,
        128,
    )
    if address is None:  # NXDOMAIN
        answer = struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question
    else:
        answer = (
            struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0)
            + question
            + struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4)
            + socket.inet_aton(address)
        )
    reply = t + rng.uniform(0.004, 0.03)
    cap.udp(reply, RESOLVER, 53, WORKSTATION, port, answer, 64)
    return reply


def beacons(cap: Capture) -> list[float]:
    t = WORKSTATION_START + 73.4
    dns_exchange(cap, t - 0.05, C2_DOMAIN, C2_ADDRESS, ttl=3600)
    request = (
        f"GET /api/v1/status?id=FIN-PC-041 HTTP/1.1\r\nHost: {C2_DOMAIN}\r\n"
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nAccept: */*\r\n\r\n"
    ).encode()
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n"
        b'Connection: close\r\n\r\n{"task": "none"}'
    )
    starts = []
    while t < WORKSTATION_START + 3600 - 30:
        starts.append(t)
        s = Session(
            cap, WORKSTATION, rng.randrange(49152, 65535), C2_ADDRESS, 80, 128, 47, WINDOWS_SYN
        )
        rtt = rng.uniform(0.08, 0.095)
        end = s.exchange(s.open(t, rtt), rtt, request, reply)
        s.close(end + 0.001, rtt)
        t += BEACON_SECONDS + rng.uniform(-BEACON_JITTER, BEACON_JITTER)
    return starts


def browsing(cap: Capture) -> None:
    t = WORKSTATION_START + 12.0
    while t < WORKSTATION_START + 3590:
        name = rng.choice(list(SITES))
        t = dns_exchange(cap, t, name, SITES[name])
        https_visit(
            cap,
            t + 0.001,
            WORKSTATION,
            SITES[name],
            128,
            56,
            WINDOWS_SYN,
            rng.randrange(5000, 60000),
        )
        if rng.random() < 0.2:  # a mistyped name
            dns_exchange(cap, t + 2, "wwww.example.com", None)
        t += rng.uniform(25, 240)


def dns_exfiltration(cap: Capture) -> None:
    rows = ["employee_id,name,department,annual_salary_sgd"]
    first = ["Tan", "Lim", "Ng", "Wong", "Lee", "Goh", "Chua", "Ong", "Koh", "Teo"]
    given = ["Mei Ling", "Wei Jie", "Siti", "Arun", "Hui Min", "Daniel", "Farah", "Kumar"]
    for n in range(24):
        rows.append(
            f"E{1040 + n},{rng.choice(given)} {rng.choice(first)},"
            f"{rng.choice(['Finance', 'Operations', 'IT', 'Legal'])},{rng.randrange(48, 190) * 1000}"
        )
    data = ("\n".join(rows) + "\n").encode()
    data += b"\n" * (-len(data) % 5)  # whole base32 groups: no '=' padding in any label
    chunks = [EXFIL_FILE.encode()] + [data[i : i + 35] for i in range(0, len(data), 35)]
    t = WORKSTATION_START + 2261.7
    for seq, chunk in enumerate(chunks):
        label = base64.b32encode(chunk).decode().lower().rstrip("=")
        dns_exchange(cap, t, f"{seq}.{label}.{EXFIL_DOMAIN}", "198.51.100.53", ttl=0)
        t += rng.uniform(0.15, 0.45)


def workstation_capture(path: Path) -> None:
    cap = Capture()
    browsing(cap)
    starts = beacons(cap)
    intervals = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # The answer the lab expects, whichever way the trainee averages.
    assert (
        round(statistics.mean(intervals)) == round(statistics.median(intervals)) == BEACON_SECONDS
    )
    dns_exfiltration(cap)
    cap.write(path)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    dmz_capture(out / "dmz.pcap")
    workstation_capture(out / "workstation.pcap")


if __name__ == "__main__":
    main()
