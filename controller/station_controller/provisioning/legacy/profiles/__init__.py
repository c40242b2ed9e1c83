"""Device profiles by netmiko device type: `linux` (OpenWrt UCI), `huawei`, `hp_comware`, `ruijie_os`."""

from __future__ import annotations

from ..errors import UnknownProfile
from . import hp_comware, huawei, linux, ruijie_os
from .base import Check, Profile
from .intent import RouterIntent, intent_from_mapping

PROFILES: dict[str, Profile] = {
    p.name: p for p in (linux.PROFILE, huawei.PROFILE, hp_comware.PROFILE, ruijie_os.PROFILE)
}


def get_profile(name: str | None) -> Profile:
    """The profile for a target's device type.

    Raises:
        UnknownProfile: no profile by that name (the message lists the known ones).
    """
    profile = PROFILES.get(name or "")
    if profile is None:
        raise UnknownProfile(
            f"no device profile {name!r}; set the target's profile to one of {', '.join(sorted(PROFILES))}"
        )
    return profile


__all__ = ["PROFILES", "Check", "Profile", "RouterIntent", "get_profile", "intent_from_mapping"]
