"""BLUE's tooling, as the isolation tests stand in for it: the official Python client
(hazelcast-python-client) on the shared cluster. Each sub-command prints one JSON document.

  seed                       write BLUE's surfaces, its queue and the shared read-only maps
  publish FILE INTERVAL_MS   publish each scan line of FILE on DOLPHIN_FEATURES, rewriting
                             BLUE's heartbeat and engine snapshot meanwhile; print BLUE's last values
  snapshot                   BLUE's entries, its queue (read, not consumed), the cluster's objects
  read-pink                  PINK's state and PnL maps, each value parsed as JSON (DESIGN.md section 6)
  send COMMAND_JSON          offer a command on pink_runtime_commands and wait for its outcome

Cluster from HAZELCAST_CLUSTER_NAME and HAZELCAST_MEMBERS (comma list host:port).
"""

import json
import os
import sys
import time

import hazelcast

BLUE_STATE = "DOLPHIN_STATE_BLUE"
BLUE_PNL = "DOLPHIN_PNL_BLUE"
BLUE_QUEUE = "blue_runtime_commands"
SHARED = ("DOLPHIN_SAFETY", "DOLPHIN_HEARTBEAT")
FEATURES = "DOLPHIN_FEATURES"
FEATURES_KEY = "latest_eigen_scan"
PINK_STATE = "DOLPHIN_STATE_PINK"
PINK_PNL = "DOLPHIN_PNL_PINK"
PINK_QUEUE = "pink_runtime_commands"
BLUE_COMMANDS = [
    {"id": "blue-1", "type": "PAUSE", "reason": "blue operator"},
    {"id": "blue-2", "type": "SET_CAPITAL", "amount": 90000},
    {"id": "blue-3", "type": "RESUME"},
]


def connect():
    return hazelcast.HazelcastClient(
        cluster_name=os.environ["HAZELCAST_CLUSTER_NAME"],
        cluster_members=os.environ["HAZELCAST_MEMBERS"].split(","),
        cluster_connect_timeout=10.0,
    )


def text(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def blue_surfaces(beat):
    """BLUE's values at heartbeat `beat`: what it wrote last is what must still be there."""
    return {
        BLUE_STATE: {
            "engine_snapshot": text({"posture": "APEX", "scan": 1000 + beat, "strategy": "blue"}),
            "capital_checkpoint": text({"capital": 125000.5, "strategy": "blue"}),
        },
        BLUE_PNL: {"2026-12-06": text({"pnl": 1234.25, "trades": 7})},
        "DOLPHIN_SAFETY": {"blue": text({"ok": True, "beat": beat})},
        "DOLPHIN_HEARTBEAT": {"blue": text({"beat": beat})},
    }


def write(client, surfaces):
    for name, entries in surfaces.items():
        m = client.get_map(name).blocking()
        for key, value in entries.items():
            m.put(key, value)


def objects(client):
    return sorted(f"{o.service_name}:{o.name}" for o in client.get_distributed_objects())


def entries(client, name):
    return dict(client.get_map(name).blocking().entry_set())


def seed(client, _args):
    write(client, blue_surfaces(0))
    q = client.get_queue(BLUE_QUEUE).blocking()
    for c in BLUE_COMMANDS:
        q.offer(text(c))
    client.get_map(FEATURES).blocking()  # the features service's map exists before PINK
    return {"objects": objects(client), "queue": q.iterator()}


def publish(client, args):
    path, interval = args[0], int(args[1]) / 1000
    features = client.get_map(FEATURES).blocking()
    beat = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            features.put(FEATURES_KEY, line.rstrip("\n"))
            if n % 10 == 0:
                beat += 1
                write(client, blue_surfaces(beat))
            time.sleep(interval)
    return {"published": n, "blue": blue_surfaces(beat)}


def snapshot(client, _args):
    names = (BLUE_STATE, BLUE_PNL, *SHARED)
    return {
        "blue": {name: entries(client, name) for name in names},
        "queue": client.get_queue(BLUE_QUEUE).blocking().iterator(),
        "objects": objects(client),
    }


def read_pink(client, _args):
    # json.loads of every value: the contract is JSON text, readable from any language.
    return {name: {k: json.loads(v) for k, v in entries(client, name).items()} for name in (PINK_STATE, PINK_PNL)}


def send(client, args):
    command = json.loads(args[0])
    client.get_queue(PINK_QUEUE).blocking().offer(args[0])
    state = client.get_map(PINK_STATE).blocking()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        outcome = state.get(f"command_outcome:{command['id']}")
        if outcome is not None:
            return {"outcome": json.loads(outcome)}
        time.sleep(0.05)
    return {"outcome": None}


COMMANDS = {"seed": seed, "publish": publish, "snapshot": snapshot, "read-pink": read_pink, "send": send}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: blue_tooling.py {'|'.join(COMMANDS)} ...")
    client = connect()
    try:
        print(json.dumps(COMMANDS[sys.argv[1]](client, sys.argv[2:])))
    finally:
        client.shutdown()


if __name__ == "__main__":
    main()
