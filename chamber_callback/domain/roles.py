"""Staff roles and what each may do: the one place that says who may do what.

Routes, services and templates ask a named policy (``TAKES_CALLS``, ``SUPERVISES``…) rather
than listing roles, so a change of rule is a change here.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # takes calls
    SENIOR = "senior"  # leads a regional unit: takes calls, watches its unit
    MANAGER = "manager"  # runs the crisis cell: every unit, administration
    ADMIN = "admin"  # the installation: administration, admin accounts
    DPO = "dpo"  # the data protection officer: artisans' access and erasure requests


ALL_ROLES: tuple[Role, ...] = tuple(Role)

# Named policies (sets of roles).
TAKES_CALLS = frozenset({Role.AGENT, Role.SENIOR})  # availability, offers, the console
SUPERVISES = frozenset({Role.SENIOR, Role.MANAGER, Role.ADMIN})  # team queue, dashboard, reports
SEES_ALL_UNITS = frozenset({Role.MANAGER, Role.ADMIN})  # others see their own unit
ADMINISTERS = frozenset({Role.MANAGER, Role.ADMIN})  # users, units, topics, settings, journal
# Accounts only an admin creates, changes, resets or deactivates, and roles only an admin gives:
# a manager cannot make itself admin, nor give itself the DPO's access to every artisan's data.
PRIVILEGED_ROLES = frozenset({Role.ADMIN, Role.DPO})
MANAGES_PRIVILEGED_ACCOUNTS = frozenset({Role.ADMIN})
# Campaigns: created, changed, imported and exported (names and phones) by the crisis cell; the
# seniors of the units a campaign covers follow its progress.
RUNS_CAMPAIGNS = frozenset({Role.MANAGER, Role.ADMIN})
EXPORTS_PERSONAL_DATA = frozenset({Role.SENIOR, Role.MANAGER})  # names and phones in CSV exports
READS_STATS_API = frozenset({Role.MANAGER, Role.ADMIN})  # GET /api/v1/stats
HANDLES_DATA_REQUESTS = frozenset({Role.ADMIN, Role.DPO})  # find, export and erase one artisan's data
NEEDS_UNIT = TAKES_CALLS  # an agent or a senior belongs to a unit
# Sign in with a second factor (TOTP): the roles that can export personal data or run the
# administration. An admin can require it of every role (setting TWO_FACTOR_FOR_EVERYONE).
NEEDS_SECOND_FACTOR = frozenset({Role.SENIOR, Role.MANAGER, Role.ADMIN, Role.DPO})

# The policies by name, for templates: {% if may("supervises") %}.
POLICIES: dict[str, frozenset[Role]] = {
    "takes_calls": TAKES_CALLS, "supervises": SUPERVISES, "sees_all_units": SEES_ALL_UNITS,
    "administers": ADMINISTERS, "exports_personal_data": EXPORTS_PERSONAL_DATA,
    "handles_data_requests": HANDLES_DATA_REQUESTS, "runs_campaigns": RUNS_CAMPAIGNS,
}


def may(role: str | None, policy: str) -> bool:
    return role in POLICIES[policy]


def needs_second_factor(role: str, everyone: bool = False) -> bool:
    return everyone or role in NEEDS_SECOND_FACTOR


def takes_calls(role: str) -> bool:
    return role in TAKES_CALLS


def sees_all_units(role: str) -> bool:
    return role in SEES_ALL_UNITS


def locked_to_own_unit(role: str) -> bool:
    """Supervisors who see only their own unit (seniors)."""
    return role in SUPERVISES and role not in SEES_ALL_UNITS
