"""A local Redis Cluster from redis-server 7 binaries on free ports (masters and replicas): for bench/live.py's cluster
figure and the tests (tests/redis_cluster.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from server.embedded import free_port

REDIS_SERVER = os.environ.get("KINDRED_REDIS_SERVER", "/usr/bin/redis-server")
REDIS_CLI = os.environ.get("KINDRED_REDIS_CLI", "/usr/bin/redis-cli")
# How long a silent master stays master before its replica takes over (the cluster's failure detection).
NODE_TIMEOUT_MS = 1000


def redis_7_missing() -> str | None:
    """Why no Redis Cluster can be started here (redis-server/redis-cli missing or older than 7), or None."""
    hint = "install it with `sudo apt-get install redis-server` (.ci/run does)"
    if not (shutil.which(REDIS_SERVER) and shutil.which(REDIS_CLI)):
        return f"redis-server and redis-cli not found at {REDIS_SERVER}, {REDIS_CLI}: {hint}"
    version = subprocess.run([REDIS_SERVER, "--version"], capture_output=True, text=True, check=True).stdout
    major = int(version.split("v=", 1)[1].split(".", 1)[0])
    if major < 7:
        return f"{REDIS_SERVER} is Redis {major}; sharded pub/sub needs 7 or newer: {hint}"
    return None


@dataclass
class Node:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        # No persistence: a node that comes back rejoins as its shard's replica and copies the new master.
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--cluster-enabled",
                "yes",
                # Its own bus port: the default (port + 10000) may be taken, or past 65535.
                "--cluster-port",
                str(free_port()),
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--cluster-replica-validity-factor",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.5) as client:
                    client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the node stops answering at once, as on a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)


@dataclass
class LocalCluster:
    """masters × (1 + replicas) nodes, made a cluster with `redis-cli --cluster create`."""

    directory: Path
    masters: int = 3
    replicas: int = 1
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://{self.nodes[0].name}/0"

    def start(self) -> None:
        problem = redis_7_missing()
        if problem:
            raise RuntimeError(problem)
        count = self.masters * (1 + self.replicas)
        self.nodes = [Node(free_port(), self.directory / f"node-{i}") for i in range(count)]
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(node.name for node in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.wait_until_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()

    def alive(self) -> list[Node]:
        return [node for node in self.nodes if node.process is not None and node.process.poll() is None]

    def wait_until_ok(self, timeout: float = 30) -> None:
        """Until every live node says cluster_state:ok and every slot has a live master."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if all(self._ok(node) for node in self.alive()):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the Redis Cluster did not become healthy")
            time.sleep(0.1)

    def _ok(self, node: Node) -> bool:
        with node.client() as client:
            info = client.execute_command("CLUSTER", "INFO").decode()
            if "cluster_state:ok" not in info:
                return False
            alive = {f"127.0.0.1:{other.port}" for other in self.alive()}
            covered = 0
            for start, end, master, *_replicas in client.execute_command("CLUSTER", "SLOTS"):
                if f"{master[0].decode()}:{master[1]}" not in alive:
                    return False
                covered += end - start + 1
            return covered == 16384

    def master_of(self, key: str) -> Node:
        with self.alive()[0].client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_replicas in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return next(node for node in self.nodes if node.port == int(master[1]))
        raise AssertionError(f"no master serves {key}")

    def masters_now(self) -> list[Node]:
        with self.alive()[0].client() as client:
            ports = {int(master[1]) for _s, _e, master, *_r in client.execute_command("CLUSTER", "SLOTS")}
        return [node for node in self.nodes if node.port in ports]

    def node_id(self, node: Node) -> str:
        with node.client() as client:
            return str(client.execute_command("CLUSTER", "MYID").decode())

    def move_slot(self, key: str, to: Node) -> None:
        """Move key's (empty) slot to another master, the way a resharding does, announced to every node."""
        source = self.master_of(key)
        with source.client() as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
        target_id, source_id = self.node_id(to), self.node_id(source)
        with to.client() as client:
            client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        with source.client() as client:
            client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        for node in [to, source, *(n for n in self.masters_now() if n not in (to, source))]:
            with node.client() as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self.wait_until_ok()
