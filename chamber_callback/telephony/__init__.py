"""Telephony adapters behind one interface (see base.py)."""
from .base import Capabilities, Telephony, TelephonyError, get_telephony

__all__ = ["Capabilities", "Telephony", "TelephonyError", "get_telephony"]
