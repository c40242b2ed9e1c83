"""Staff password hashing (scrypt, per-user salt) and role ordering."""

from __future__ import annotations

import pytest

from station_controller.auth.passwords import generate_password, hash_password, verify_password
from station_controller.auth.service import role_allows


def test_hash_verifies_and_is_salted() -> None:
    first, second = hash_password("s3cret password"), hash_password("s3cret password")
    assert first != second
    assert first.startswith("scrypt$")
    assert verify_password("s3cret password", first)
    assert verify_password("s3cret password", second)
    assert not verify_password("s3cret passwore", first)


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$1$2$3$zz$yy", "bcrypt$a$b$c$d$e"])
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_generated_passwords_are_long_and_distinct() -> None:
    passwords = {generate_password() for _ in range(20)}
    assert len(passwords) == 20
    assert min(len(p) for p in passwords) >= 32


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "operator", False),
        ("operator", "viewer", True),
        ("operator", "admin", False),
        ("admin", "operator", True),
    ],
)
def test_roles_are_ordered(role: str, needed: str, allowed: bool) -> None:
    assert role_allows(role, needed) is allowed
