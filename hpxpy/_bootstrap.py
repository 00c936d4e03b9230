"""Bootstrap: how the localities of one job find and trust each other.

1. Every locality opens an endpoint for each transport it offers: ``shm``, its
   shared-memory segment (``pid:fd:size``, opened by same-host peers through /proc), and
   ``tcp``, a listening socket on an ephemeral port.
2. It registers with the rendezvous server (run by the launcher, or by locality 0 when
   something else started the processes) and receives the table of all localities once
   every one has registered. The rendezvous knows nothing of transports: each entry is
   ``{"id": i, "host": <host identity>, "endpoints": {"shm": ..., "tcp": ...}, ...}``.
3. The transports, in priority order, take the peers they can reach from that table: shm
   every peer with the same host identity, TCP the rest. TCP: locality ``i`` connects to
   every such ``j < i`` and accepts from every such ``j > i``, so the death of any process
   is seen by its TCP peers as EOF on its socket (shm peers watch its pid).

Every connection, to the rendezvous server or to a peer, starts with a mutual
challenge-response over the per-job secret (HMAC-SHA256 over fresh nonces; the secret
never crosses the wire). A connection that fails it, or sends garbage, is closed and
forgotten; the job goes on. The connected sockets are then handed to the C++ parcelport.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

if TYPE_CHECKING:  # the launcher imports this module; only localities load the core
    import hpxpy._core as _core

# Environment contract between the launcher and the localities.
ENV_LOCALITY_ID = "HPXPY_LOCALITY_ID"
ENV_NUM_LOCALITIES = "HPXPY_NUM_LOCALITIES"
ENV_RENDEZVOUS = "HPXPY_RENDEZVOUS"  # "host:port" of the rendezvous server
ENV_RENDEZVOUS_SERVER = "HPXPY_RENDEZVOUS_SERVER"  # "0": locality 0 hosts the rendezvous
ENV_JOB_SECRET = "HPXPY_JOB_SECRET"  # hex string shared by every locality of the job
ENV_INTERFACE = "HPXPY_INTERFACE"  # address, interface name or "auto" (default 127.0.0.1)
ENV_HOST = "HPXPY_HOST"  # the host's name in hpxrun's host list: this locality's host identity
ENV_PARCELPORT = "HPXPY_PARCELPORT"  # "shm", "tcp" or "mpi" forces one; default: shm, then tcp

_MAGIC = b"HPXPY\x00\x01\x00"
_NONCE_LEN = 32
_MAC_LEN = 32
_HANDSHAKE_TIMEOUT = 5.0
_MAX_FRAME = 1 << 20


class BootstrapError(RuntimeError):
    """The job could not be assembled (rendezvous or mesh set-up failed)."""


class HandshakeError(Exception):
    """A connection failed to prove it belongs to the job."""


def new_job_secret() -> str:
    """A fresh per-job secret, as the hex string passed in ``HPXPY_JOB_SECRET``."""
    return os.urandom(32).hex()  # what secrets.token_hex does, without its imports


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise HandshakeError("connection closed during handshake")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack("!I", len(payload)) + payload)


def recv_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack("!I", _recv_exact(sock, 4))
    if length > _MAX_FRAME:
        raise HandshakeError(f"frame of {length} bytes exceeds the {_MAX_FRAME}-byte limit")
    return _recv_exact(sock, length)


def _mac(secret: bytes, *parts: bytes) -> bytes:
    return hmac.new(secret, b"".join(parts), hashlib.sha256).digest()


def handshake_as_client(sock: socket.socket, secret: bytes, my_id: int) -> None:
    """Prove membership to the accepting side and check that it is a member too."""
    nonce_c = os.urandom(_NONCE_LEN)
    sock.sendall(_MAGIC + nonce_c)
    reply = _recv_exact(sock, _NONCE_LEN + _MAC_LEN)
    nonce_s, mac_s = reply[:_NONCE_LEN], reply[_NONCE_LEN:]
    if not hmac.compare_digest(mac_s, _mac(secret, b"S", nonce_c, nonce_s)):
        raise HandshakeError("peer failed to prove knowledge of the job secret")
    id_bytes = struct.pack("!i", my_id)
    sock.sendall(id_bytes + _mac(secret, b"C", nonce_s, nonce_c, id_bytes))
    if _recv_exact(sock, 2) != b"OK":
        raise HandshakeError("peer rejected the connection")


def handshake_as_server(sock: socket.socket, secret: bytes) -> int:
    """Check a connecting side's membership; returns the locality id it proved."""
    hello = _recv_exact(sock, len(_MAGIC) + _NONCE_LEN)
    if hello[: len(_MAGIC)] != _MAGIC:
        raise HandshakeError("not an hpxpy connection (bad magic)")
    nonce_c = hello[len(_MAGIC) :]
    nonce_s = os.urandom(_NONCE_LEN)
    sock.sendall(nonce_s + _mac(secret, b"S", nonce_c, nonce_s))
    answer = _recv_exact(sock, 4 + _MAC_LEN)
    id_bytes, mac_c = answer[:4], answer[4:]
    if not hmac.compare_digest(mac_c, _mac(secret, b"C", nonce_s, nonce_c, id_bytes)):
        raise HandshakeError("client failed to prove knowledge of the job secret")
    sock.sendall(b"OK")
    return struct.unpack("!i", id_bytes)[0]


def parse_address(text: str) -> Tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected an address 'host:port', got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_addresses(text: str) -> List[Tuple[str, int]]:
    """``"a,b:port"`` (a rendezvous reachable at several addresses) -> [(a, port), (b, port)]."""
    hosts, port = parse_address(text)
    return [(host.strip("[]"), port) for host in hosts.split(",") if host.strip("[]")]


def interface_addresses() -> Dict[str, str]:
    """Every network interface of this host (network namespace) with an IPv4 address:
    {name: address}."""
    found: Dict[str, str] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
            except OSError:
                continue  # no IPv4 address on that interface
            found[name] = socket.inet_ntoa(reply[20:24])
    return found


def is_ipv4(text: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, text)  # dotted quad only (inet_aton takes "1")
        return True
    except (OSError, TypeError):
        return False


def _bindable(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))
            return True
        except OSError:
            return False


def _route_source(destinations: List[Tuple[str, int]]) -> Optional[str]:
    """The local address the routing table uses towards the first reachable destination
    (a UDP connect sends nothing)."""
    for destination in destinations:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(destination)
            except OSError:
                continue
            return str(probe.getsockname()[0])
    return None


def resolve_interface(interface: str, rendezvous: Optional[str] = None) -> str:
    """The IPv4 address a locality binds for ``HPXPY_INTERFACE``: an address as is; an
    interface name (``eth0``) its address on this host; ``auto`` the address this host's
    name (``HPXPY_HOST``, else the host name) resolves to when that is a non-loopback
    address of this host, else the address this host reaches the rendezvous from."""
    if not interface or is_ipv4(interface):
        return interface or "127.0.0.1"
    if interface != "auto":
        addresses = interface_addresses()
        if interface not in addresses:
            raise BootstrapError(
                f"{ENV_INTERFACE}={interface!r} is neither an IPv4 address nor an interface "
                f"of this host with one (interfaces: {', '.join(sorted(addresses)) or 'none'})")
        return addresses[interface]
    name = os.environ.get(ENV_HOST) or socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        address = ""
    if address and not address.startswith("127.") and _bindable(address):
        return address
    source = _route_source(parse_addresses(rendezvous)) if rendezvous else None
    if source is None:
        raise BootstrapError(
            f"{ENV_INTERFACE}=auto: {name!r} resolves to no address of this host and no "
            "rendezvous address is routable; set it to an address or interface name")
    return source


class _Acceptor:
    """Accepts connections on a listening socket, one handshake thread per connection.

    ``on_member(sock, peer_id)`` gets every connection that passed the handshake and
    returns True to keep it; everything else is closed without affecting anyone.
    """

    def __init__(self, listener: socket.socket, secret: bytes, on_member) -> None:
        self._listener = listener
        self._secret = secret
        self._on_member = on_member
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="hpxpy-acceptor", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(_HANDSHAKE_TIMEOUT)
            peer_id = handshake_as_server(conn, self._secret)
            if self._on_member(conn, peer_id):
                return
        except (HandshakeError, OSError, struct.error):
            pass
        conn.close()

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()


class RendezvousServer:
    """Collects every locality's address and hands each the full peer table.

    Used by the launcher (and by locality 0 when no launcher runs). It serves one job:
    once all ``num_localities`` have registered, each gets the table and the server stops.
    """

    def __init__(
        self, num_localities: int, secret: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.num_localities = num_localities
        self._secret = bytes.fromhex(secret)
        self._lock = threading.Lock()
        self._entries: Dict[int, dict] = {}
        self._conns: Dict[int, socket.socket] = {}
        self._done = threading.Event()
        self._sending = threading.Event()  # the table is going out to every member
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(max(16, num_localities))
        self.address: Tuple[str, int] = listener.getsockname()[:2]
        self._acceptor = _Acceptor(listener, self._secret, self._register)

    @property
    def address_string(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _register(self, conn: socket.socket, locality_id: int) -> bool:
        if not 0 <= locality_id < self.num_localities:
            return False
        entry = json.loads(recv_frame(conn))
        if entry.get("id") != locality_id:
            return False
        with self._lock:
            if locality_id in self._entries or self._done.is_set():
                return False
            self._entries[locality_id] = entry
            self._conns[locality_id] = conn
            complete = len(self._entries) == self.num_localities
            if complete:
                self._sending.set()
                conns = list(self._conns.values())
                self._conns.clear()
        if complete:
            table = json.dumps([self._entries[i] for i in range(self.num_localities)]).encode()
            for c in conns:
                try:
                    send_frame(c, table)
                except OSError:
                    pass  # that locality died; its peers will notice
                c.close()
            self._done.set()
            self._acceptor.close()
        return True

    def registered(self) -> List[int]:
        """The ids of the localities that have registered so far (``hpxrun -v``)."""
        with self._lock:
            return sorted(self._entries)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once every locality has received the table."""
        return self._done.wait(timeout)

    def close(self) -> None:
        # A member (locality 0 hosting the rendezvous) may get its table and close the
        # server while the others' tables are still being sent: let that finish.
        if self._sending.is_set():
            self._done.wait(10.0)
        self._acceptor.close()
        with self._lock:
            for c in self._conns.values():
                c.close()
            self._conns.clear()


def _connect(address: Tuple[str, int] | List[Tuple[str, int]],
             deadline: float) -> socket.socket:
    """Connect, retrying while the other side is not listening yet; given several
    addresses of one listener, the first that answers."""
    candidates = address if isinstance(address, list) else [address]
    timeout = _HANDSHAKE_TIMEOUT if len(candidates) == 1 else 2.0
    while True:
        for candidate in candidates:
            try:
                return socket.create_connection(candidate, timeout=timeout)
            except OSError as err:
                failure = err
        if time.monotonic() > deadline:
            where = ", ".join(f"{h}:{p}" for h, p in candidates)
            raise BootstrapError(f"could not reach {where}: {failure}") from failure
        time.sleep(0.05)


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Keepalive probes find a peer whose host vanished (no FIN/RST) within ~8 s.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def host_identity() -> str:
    """Names this host for the other localities: equal exactly for processes that can share
    memory and should (the host's name in hpxrun's host list, ``HPXPY_HOST``, else the host
    name; plus the kernel's boot id where there is one). hpxrun assigns the name, so two
    "hosts" that are network namespaces of one machine talk TCP between them."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    name = os.environ.get(ENV_HOST) or socket.gethostname()
    return f"{name}/{boot}" if boot else name


def rendezvous_table(
    address: Tuple[str, int] | List[Tuple[str, int]],
    secret: bytes,
    locality_id: int,
    num_localities: int,
    endpoints: Dict[str, str],
    deadline: float,
) -> List[dict]:
    """Register this locality (its transports' endpoints) and return every locality's entry,
    in locality order. Transport-neutral: the table is what each transport connects from."""
    sock = _connect(address, deadline)
    where = "{}:{}".format(*sock.getpeername()[:2])
    try:
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        handshake_as_client(sock, secret, locality_id)
        entry = {
            "id": locality_id,
            "host": host_identity(),
            "endpoints": dict(endpoints),
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
        }
        send_frame(sock, json.dumps(entry).encode())
        table = json.loads(recv_frame(sock))
    except (HandshakeError, OSError, ValueError) as err:
        raise BootstrapError(f"rendezvous at {where} failed: {err}") from err
    finally:
        sock.close()
    if len(table) != num_localities or [e.get("id") for e in table] != list(range(num_localities)):
        raise BootstrapError(f"rendezvous returned {len(table)} entries, expected "
                             f"{num_localities}")
    return table


class TcpTransport:
    """The TCP side of the bootstrap: a listening endpoint, then a full mesh of
    authenticated sockets built from the rendezvous table (one per peer)."""

    name = "tcp"

    def __init__(self, locality_id: int, num_localities: int, secret: bytes,
                 interface: str = "127.0.0.1") -> None:
        self.locality_id = locality_id
        self.num_localities = num_localities
        self._secret = secret
        self._peers: Dict[int, socket.socket] = {}
        self._wanted: Set[int] = set()
        self._lock = threading.Condition()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((interface, 0))
            listener.listen(max(16, num_localities))
        except OSError:
            listener.close()
            raise
        self.address: Tuple[str, int] = listener.getsockname()[:2]
        self._acceptor = _Acceptor(listener, self._secret, self._accept_peer)

    @property
    def endpoint(self) -> str:
        """This locality's entry for the rendezvous table."""
        return f"{self.address[0]}:{self.address[1]}"

    def connect(self, table: List[dict], deadline: float, wanted: Set[int]) -> Set[int]:
        """Connect to every lower id in ``wanted``, wait for every higher one to connect to
        us; returns ``wanted`` (TCP reaches every peer)."""
        self._wanted = set(wanted)
        for peer in sorted(p for p in wanted if p < self.locality_id):
            endpoint = table[peer].get("endpoints", {}).get(self.name)
            if endpoint is None:
                raise BootstrapError(f"locality {peer} offers no {self.name} endpoint")
            sock = _connect(parse_address(endpoint), deadline)
            try:
                handshake_as_client(sock, self._secret, self.locality_id)
            except (HandshakeError, OSError) as err:
                sock.close()
                raise BootstrapError(f"handshake with locality {peer} failed: {err}") from err
            self._add_peer(sock, peer)
        with self._lock:
            while not self._wanted <= set(self._peers):
                left = deadline - time.monotonic()
                missing = sorted(self._wanted - set(self._peers))
                if left <= 0:
                    raise BootstrapError(
                        f"locality {self.locality_id}: localities {missing} never connected"
                    )
                self._lock.wait(min(left, 0.5))
        return set(wanted)

    def _add_peer(self, sock: socket.socket, peer: int) -> None:
        sock.settimeout(None)
        _tune(sock)
        with self._lock:
            self._peers[peer] = sock
            self._lock.notify_all()

    def _accept_peer(self, sock: socket.socket, peer: int) -> bool:
        # Only localities with a larger id connect to us, each exactly once.
        with self._lock:
            if not self.locality_id < peer < self.num_localities or peer in self._peers:
                return False
        self._add_peer(sock, peer)
        return True

    def detach_fds(self) -> List[int]:
        """Hand the peer sockets over (fd per locality, -1 for self); we forget them."""
        with self._lock:
            fds = [-1] * self.num_localities
            for peer, sock in self._peers.items():
                fds[peer] = sock.detach()
            self._peers.clear()
        return fds

    def close(self) -> None:
        """Stop accepting; close any socket not yet handed over."""
        self._acceptor.close()
        with self._lock:
            for sock in self._peers.values():
                sock.close()
            self._peers.clear()


class ShmTransport:
    """The shared-memory side of the bootstrap: this locality's segment (made before the
    rendezvous, so its endpoint can be published), and where each same-host peer's is."""

    name = "shm"

    def __init__(self, locality_id: int, num_localities: int, secret: bytes,
                 interface: str = "127.0.0.1") -> None:
        import hpxpy._core as core

        self.locality_id = locality_id
        self.segment: Optional[_core.ShmSegment] = core.ShmSegment(locality_id, num_localities)
        # (pid, fd, size) of each locality's segment; pid 0: not reached through shm.
        self.peers: List[Tuple[int, int, int]] = [(0, -1, 0)] * num_localities

    @property
    def endpoint(self) -> str:
        assert self.segment is not None
        return self.segment.endpoint

    def connect(self, table: List[dict], deadline: float, wanted: Set[int]) -> Set[int]:
        """Take every wanted peer on this host (same host identity, an shm endpoint)."""
        host = table[self.locality_id].get("host")
        reached = set()
        for peer in wanted:
            entry = table[peer]
            endpoint = entry.get("endpoints", {}).get(self.name)
            if endpoint and entry.get("host") == host:
                pid, fd, size = (int(x) for x in endpoint.split(":"))
                self.peers[peer] = (pid, fd, size)
                reached.add(peer)
        return reached

    def close(self) -> None:
        self.segment = None  # the core holds it once the runtime runs


# The transports the bootstrap can set up, by name; HPXPY_PARCELPORT picks them (in
# priority order) by one of PARCELPORTS' keys. "mpi" needs no bootstrap here: MPI_Init
# assembles the job (hpxpy._mpi), and the core's MPI parcelport reaches every peer.
TRANSPORTS = {"shm": ShmTransport, "tcp": TcpTransport}
PARCELPORTS = {"auto": ("shm", "tcp"), "shm": ("shm",), "tcp": ("tcp",), "mpi": ("mpi",)}
DEFAULT_PARCELPORT = "auto"


def check_parcelport(name: str) -> str:
    """The parcelport choice, or ValueError naming the ones there are."""
    if name not in PARCELPORTS:
        raise ValueError(
            f"unknown parcelport {name!r} ({ENV_PARCELPORT}); available: "
            f"{', '.join(sorted(PARCELPORTS))}"
        )
    return name


class Mesh:
    """One locality's connections to the job: its transports' endpoints, the rendezvous
    table, and what each transport connected (today: the TCP full mesh)."""

    def __init__(
        self,
        locality_id: int,
        num_localities: int,
        rendezvous: str,
        secret: str,
        interface: str = "127.0.0.1",
        host_rendezvous: bool = False,
        timeout: float = 60.0,
        parcelport: str = DEFAULT_PARCELPORT,
    ) -> None:
        self.locality_id = locality_id
        self.num_localities = num_localities
        self._secret = bytes.fromhex(secret)
        deadline = time.monotonic() + timeout
        check_parcelport(parcelport)

        server = None
        if host_rendezvous and locality_id == 0:
            host, port = parse_address(rendezvous)
            server = RendezvousServer(num_localities, secret, host=host, port=port)

        self.transports: List = []
        self.parcelports: List[str] = []  # the transports that reach some peer, in order
        try:
            for name in PARCELPORTS[parcelport]:
                self.transports.append(
                    TRANSPORTS[name](locality_id, num_localities, self._secret, interface))
            endpoints = {t.name: t.endpoint for t in self.transports}
            self.table = rendezvous_table(parse_addresses(rendezvous), self._secret,
                                    locality_id, num_localities, endpoints, deadline)
            # Each transport, in priority order, takes the peers it reaches of those left.
            left = set(range(num_localities)) - {locality_id}
            for transport in self.transports:
                reached = transport.connect(self.table, deadline, left)
                if reached:
                    self.parcelports.append(transport.name)
                left -= reached
            if left:
                raise BootstrapError(
                    f"locality {locality_id}: no parcelport of {parcelport!r} reaches "
                    f"localities {sorted(left)} (other hosts need tcp)")
        except BaseException:
            self.close()
            raise
        finally:
            if server is not None:
                server.close()

    @property
    def tcp(self) -> Optional[TcpTransport]:
        for transport in self.transports:
            if isinstance(transport, TcpTransport):
                return transport
        return None

    @property
    def address(self) -> Optional[Tuple[str, int]]:
        """Where the TCP endpoint listens (it keeps listening, refusing late comers)."""
        tcp = self.tcp
        return tcp.address if tcp is not None else None

    @property
    def listen_port(self) -> Optional[int]:
        address = self.address
        return address[1] if address is not None else None

    def detach_fds(self) -> List[int]:
        """The TCP sockets, one per locality (-1 for self), handed over to the core."""
        tcp = self.tcp
        return tcp.detach_fds() if tcp is not None else [-1] * self.num_localities

    @property
    def shm(self) -> Optional[ShmTransport]:
        for transport in self.transports:
            if isinstance(transport, ShmTransport):
                return transport
        return None

    def close_shm(self) -> None:
        """Drop our reference to the shm segment (the core keeps its own)."""
        shm = self.shm
        if shm is not None:
            shm.close()

    def localities_on_this_host(self) -> int:
        """How many localities of the job (this one included) share this host."""
        host = self.table[self.locality_id].get("host")
        return sum(1 for entry in self.table if entry.get("host") == host)

    def close(self) -> None:
        """Stop accepting; close any connection not yet handed over."""
        for transport in self.transports:
            transport.close()
