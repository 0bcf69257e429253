"""blue-v7-ref (ALGORITHM.md sections 2-4) behind PINK's strategy bridge, standard library only.

Run by PINK as ``algorithm: "process:python3 bridges/python/blue_v7_ref.py"``; optional
parameter overrides as one JSON object argument, e.g. ``... blue_v7_ref.py '{"STOP_BPS": 200}'``.
Arithmetic follows the text's operation order, so the doubles equal PINK's built-in
``blue-v7-ref`` and ``pink parity`` finds every decision identical.
"""

import json
import math
import sys

import pink_bridge

DEFAULTS = {
    "VEL_DIV_THRESHOLD": -0.02,
    "VEL_DIV_EXTREME": -0.05,
    "IRP_MIN": 0.45,
    "CAPITAL_FRACTION": 0.2,
    "MIN_LEVERAGE": 0.5,
    "MAX_LEVERAGE": 5.0,
    "TP_LEGS": [{"bps": 95, "ratio": 0.5}, {"bps": 160, "ratio": 0.5}],
    "STOP_BPS": 250,
    "MAX_HOLD_BARS": 120,
    "COOLDOWN_BARS": 3,
}

SIDE = "SHORT"


def trade_id_for(asset, scan):
    return "%s-T-%012d" % (asset, scan)


class BlueV7Ref:
    name = "blue-v7-ref"

    def __init__(self, overrides=None):
        overrides = overrides or {}
        unknown = [k for k in overrides if k not in DEFAULTS]
        if unknown:
            raise ValueError("unknown blue-v7-ref parameters %s (known: %s)" % (unknown, ", ".join(DEFAULTS)))
        self.params = dict(DEFAULTS, **overrides)
        self.p = self.params
        self.leg_ratios = [leg["ratio"] for leg in self.p["TP_LEGS"]]
        self.mem = {"slot": None, "cooldown": 0}

    # ---- decisions (ALGORITHM.md section 3) ----

    def decide(self, scan, capital):
        fired = scan["vel_div"] <= self.p["VEL_DIV_THRESHOLD"]
        slot = self.mem["slot"]
        if slot is not None:
            return self._occupied(scan, fired, slot)
        return self._empty(scan, fired, capital)

    def _occupied(self, scan, fired, slot):
        p = self.p
        slot["barsHeld"] += 1
        quote = scan["assets"].get(slot["asset"])
        if quote is None:
            return self._hold(scan, fired, slot, "NO_PRICE")
        price = quote["price"]
        move_bps = ((slot["entryRef"] - price) / slot["entryRef"]) * 10000
        adverse_bps = -move_bps
        if adverse_bps >= p["STOP_BPS"]:
            return self._exit(scan, fired, slot, "STOP_LOSS", price, None)
        legs = p["TP_LEGS"]
        if slot["nextLeg"] < len(legs) and move_bps >= legs[slot["nextLeg"]]["bps"]:
            k = slot["nextLeg"]
            slot["nextLeg"] += 1
            return self._exit(scan, fired, slot, "TP%d" % (k + 1), price, k)
        if slot["barsHeld"] >= p["MAX_HOLD_BARS"]:
            return self._exit(scan, fired, slot, "MAX_HOLD", price, None)
        return self._hold(scan, fired, slot, "HOLD")

    def _empty(self, scan, fired, capital):
        p = self.p
        if self.mem["cooldown"] > 0:
            self.mem["cooldown"] -= 1
            return _none(scan, fired, "COOLDOWN")
        if not scan["vol_ok"]:
            return _none(scan, fired, "VOL_GATE")
        if scan["vel_div"] > p["VEL_DIV_THRESHOLD"]:
            return _none(scan, fired, "NO_SIGNAL")
        if scan["vel_div"] < p["VEL_DIV_EXTREME"]:
            return _none(scan, fired, "EXTREME")
        asset = _pick_asset(scan, p["IRP_MIN"])
        if asset is None:
            return _none(scan, fired, "NO_ASSET")
        price = scan["assets"][asset]["price"]
        raw = (p["VEL_DIV_THRESHOLD"] - scan["vel_div"]) / (p["VEL_DIV_THRESHOLD"] - p["VEL_DIV_EXTREME"])
        confidence = min(1, max(0, raw))
        leverage = math.floor((p["MIN_LEVERAGE"] + (p["MAX_LEVERAGE"] - p["MIN_LEVERAGE"]) * confidence) * 100 + 0.5) / 100
        target_size = (capital * p["CAPITAL_FRACTION"] * leverage) / price
        trade_id = trade_id_for(asset, scan["scan"])
        self.mem["slot"] = {"tradeId": trade_id, "asset": asset, "leverage": leverage,
                            "entryRef": price, "barsHeld": 0, "nextLeg": 0}
        record = {"scan": scan["scan"], "ts": scan["ts"], "fired": fired, "action": "ENTER", "asset": asset,
                  "side": SIDE, "leverage": leverage, "reason": "ENTER", "bars_held": 0}
        order = {"reference_price": price, "target_size": target_size, "confidence": confidence, "leg": None,
                 "fraction": 1, "final": False, "leg_ratios": self.leg_ratios, "trade_id": trade_id}
        return record, order

    def _hold(self, scan, fired, slot, reason):
        return _slot_record(scan, fired, slot, "HOLD", reason), None

    def _exit(self, scan, fired, slot, reason, price, leg):
        final = leg is None or leg == len(self.p["TP_LEGS"]) - 1
        record = _slot_record(scan, fired, slot, "EXIT", reason)
        if final:
            self.mem["slot"] = None
            self.mem["cooldown"] = self.p["COOLDOWN_BARS"]
        order = {"reference_price": price, "target_size": 0, "confidence": 0, "leg": leg,
                 "fraction": 1 if leg is None else self.p["TP_LEGS"][leg]["ratio"], "final": final,
                 "leg_ratios": self.leg_ratios, "trade_id": slot["tradeId"]}
        return record, order

    # ---- venue facts and memory ----

    def override(self, kind, trade_id):
        slot = self.mem["slot"]
        if slot is None or slot["tradeId"] != trade_id:
            return
        self.mem["slot"] = None
        # Entry never happened: no cooldown. The position ended: cooldown as after a close.
        if kind in ("POSITION_VANISHED", "FLATTENED"):
            self.mem["cooldown"] = self.p["COOLDOWN_BARS"]

    def adopt(self, trade):
        self.mem["slot"] = {"tradeId": trade["trade_id"], "asset": trade["asset"], "leverage": trade["leverage"],
                            "entryRef": trade["entry_reference_price"], "barsHeld": 0, "nextLeg": 0}

    def open_trade_id(self):
        return self.mem["slot"]["tradeId"] if self.mem["slot"] else None

    def save_state(self):
        return json.loads(json.dumps(self.mem))

    def restore_state(self, state):
        if not isinstance(state, dict) or not isinstance(state.get("cooldown"), (int, float)):
            raise ValueError("saved state is not a {slot, cooldown} object")
        self.mem = json.loads(json.dumps(state))


def _pick_asset(scan, irp_min):
    """Highest irp at or above the minimum; ties go to the smallest symbol."""
    best = None
    best_irp = -math.inf
    for symbol, quote in scan["assets"].items():
        irp = quote["irp"]
        if irp < irp_min:
            continue
        if irp > best_irp or (irp == best_irp and best is not None and symbol < best):
            best = symbol
            best_irp = irp
    return best


def _none(scan, fired, reason):
    return {"scan": scan["scan"], "ts": scan["ts"], "fired": fired, "action": "NONE", "asset": "", "side": "",
            "leverage": 0, "reason": reason, "bars_held": 0}, None


def _slot_record(scan, fired, slot, action, reason):
    return {"scan": scan["scan"], "ts": scan["ts"], "fired": fired, "action": action, "asset": slot["asset"],
            "side": SIDE, "leverage": slot["leverage"], "reason": reason, "bars_held": slot["barsHeld"]}


if __name__ == "__main__":
    try:
        strategy = BlueV7Ref(json.loads(sys.argv[1]) if len(sys.argv) > 1 else None)
    except (ValueError, TypeError) as err:
        sys.stderr.write("blue_v7_ref.py: %s\n" % err)
        sys.exit(2)
    pink_bridge.serve(strategy)
