"""Connections that cannot prove membership of the job are dropped; the job goes on."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import threading
import time

import pytest
from conftest import PROGRAMS, Job, hpxrun_command

from hpxpy import _bootstrap


def attack(port: int) -> list:
    """Three hostile connections; returns what each got back before being dropped."""
    seen = []
    # 1. garbage
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(os.urandom(4096))
        seen.append(drain(s))
    # 2. right protocol, wrong secret: answer the challenge with a forged MAC
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(_bootstrap._MAGIC + os.urandom(32))
        challenge = recv_exact(s, 64)
        assert len(challenge) == 64  # the locality answers a hello with its challenge
        s.sendall(struct.pack("!i", 1) + os.urandom(32))
        seen.append(drain(s))
    # 3. a client with the wrong secret is refused by its own check of the server's proof
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with pytest.raises(_bootstrap.HandshakeError):
            _bootstrap.handshake_as_client(s, b"not the job secret", 1)
    return seen


def recv_exact(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def drain(s: socket.socket) -> bytes:
    """Everything until the other side closes (it must close, within its 5 s handshake limit)."""
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


@pytest.mark.parametrize("n", [2, 4])
def test_hostile_connections_do_not_disturb_the_job(tmp_path, n):
    port_file, go_file = tmp_path / "port.json", tmp_path / "go"
    # Attacks the TCP listener: TCP forced (with shared memory alone there is none).
    proc = subprocess.Popen(
        hpxrun_command(n, [str(PROGRAMS / "attacked.py"), str(port_file), str(go_file)]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "HPXPY_PARCELPORT": "tcp"})
    try:
        deadline = time.time() + 60
        while not port_file.exists():
            assert time.time() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        port = json.loads(port_file.read_text())["port"]
        replies = attack(port)
        assert all(b"OK" not in r for r in replies)
        go_file.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    job = Job(proc.returncode, out, err)
    assert job.returncode == 0, job
    assert sorted(job.results) == list(range(n)), job
    for i, r in job.results.items():
        assert r["total"] == [n * (n + 1) / 2]
        assert r["gathered"] == ([[k] for k in range(n)] if i == 0 else None)


def test_rendezvous_ignores_garbage_and_wrong_secret():
    secret = _bootstrap.new_job_secret()
    server = _bootstrap.RendezvousServer(2, secret)
    host, port = server.address
    try:
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"\x00garbage" * 100)
            assert b"OK" not in drain(s)
        with socket.create_connection((host, port), timeout=10) as s:
            with pytest.raises(_bootstrap.HandshakeError):
                _bootstrap.handshake_as_client(s, bytes(32), 0)
        tables = {}

        def member(i):
            # TCP only: this test is about the TCP mesh (shm would carry two localities of
            # one process, as here, without any socket).
            m = _bootstrap.Mesh(i, 2, server.address_string, secret, timeout=30,
                                parcelport="tcp")
            tables[i] = (m.table, m.detach_fds())
            m.close()

        threads = [threading.Thread(target=member, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(tables) == [0, 1]
        assert [e["id"] for e in tables[0][0]] == [0, 1]
        assert tables[0][0] == tables[1][0]  # one table, transport-neutral entries
        assert all(set(e["endpoints"]) == {"tcp"} for e in tables[0][0])
        for _table, fds in tables.values():
            assert sum(fd >= 0 for fd in fds) == 1
            for fd in fds:
                if fd >= 0:
                    os.close(fd)
    finally:
        server.close()
