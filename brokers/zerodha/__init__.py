"""Zerodha Kite Connect: the REST adapter (`KiteBroker`), its browser login (`KiteLogin`) and
the conversions between Kite's dicts and the engine's types. kiteconnect is imported here and
nowhere in engine/."""

from brokers.zerodha.broker import KiteBroker, Subscriptions, TickStream
from brokers.zerodha.convert import Gtt, GttLeg
from brokers.zerodha.login import KiteLogin

__all__ = ["Gtt", "GttLeg", "KiteBroker", "KiteLogin", "Subscriptions", "TickStream"]
