"""PINK strategy bridge, protocol version 1: the strategy side (Python standard library only).

PINK starts the strategy as a child process (``algorithm: "process:<command>"``) and talks
to it over stdin/stdout, one JSON object per line (UTF-8). See README.md beside this file.

    child -> PINK, once, first:  {"v": 1, "type": "hello", "strategy": NAME, "params": {...},
                                  "params_hash": SHA256_HEX}
    PINK -> child:               {"v": 1, "type": "decide", "id": N, "scan": SCAN, "capital": X}
                                 {"v": 1, "type": "override", "id": N, "kind": K, "trade_id": T}
                                 {"v": 1, "type": "adopt", "id": N, "trade": TRADE}
                                 {"v": 1, "type": "restore", "id": N, "state": STATE}
    child -> PINK, one per request, in order:
                                 {"v": 1, "type": "decision", "id": N, "record": RECORD,
                                  "order": ORDER or null, "open_trade_id": T or null, "state": STATE}
                                 {"v": 1, "type": "ok", "id": N, "open_trade_id": ..., "state": ...}
                                 {"v": 1, "type": "error", "id": N, "message": TEXT}

Nothing but protocol lines may be written to stdout: log to stderr.
"""

import hashlib
import json
import sys

PROTOCOL = 1


def params_hash(params):
    """SHA-256 hex of the parameters as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _send(out, message):
    out.write(json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def serve(strategy, stdin=None, stdout=None):
    """Answers PINK's requests with ``strategy`` until stdin closes.

    ``strategy`` has: ``name``, ``params`` (a JSON-able dict), ``decide(scan, capital)`` ->
    ``(record, order_or_None)``, ``override(kind, trade_id)``, ``adopt(trade)``,
    ``open_trade_id()``, ``save_state()``, ``restore_state(state)``.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    _send(stdout, {"v": PROTOCOL, "type": "hello", "strategy": strategy.name,
                   "params": strategy.params, "params_hash": params_hash(strategy.params)})
    for line in stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        rid = request.get("id")
        try:
            kind = request.get("type")
            if request.get("v") != PROTOCOL:
                raise ValueError("protocol version %r, this side speaks %d" % (request.get("v"), PROTOCOL))
            if kind == "decide":
                record, order = strategy.decide(request["scan"], request["capital"])
                answer = {"type": "decision", "record": record, "order": order}
            elif kind == "override":
                strategy.override(request["kind"], request["trade_id"])
                answer = {"type": "ok"}
            elif kind == "adopt":
                strategy.adopt(request["trade"])
                answer = {"type": "ok"}
            elif kind == "restore":
                strategy.restore_state(request["state"])
                answer = {"type": "ok"}
            else:
                raise ValueError("unknown request type %r" % (kind,))
            answer.update({"v": PROTOCOL, "id": rid, "open_trade_id": strategy.open_trade_id(),
                           "state": strategy.save_state()})
        except Exception as err:  # noqa: BLE001 - every failure goes back to PINK, named
            answer = {"v": PROTOCOL, "type": "error", "id": rid, "message": "%s: %s" % (type(err).__name__, err)}
        _send(stdout, answer)
