"""Mosquitto $7$ hashes: format, a vector from mosquitto_passwd 2.0.11, generated passwords."""

from __future__ import annotations

import base64
import re

from station_controller.broker import generate_password, hash_password, verify_password

# `mosquitto_passwd -c -b pw user1 secretsecret` (mosquitto 2.0.11)
MOSQUITTO_PASSWD_LINE = (
    "$7$101$bJCprb4cmnNRRzDc$"  # iterations, base64 salt, then the base64 PBKDF2-SHA512 digest:
    "5H92XeKEW8R15KALo1kFsl50o30Z98wNee7E6dPN2XSu49R6j9Qt42mSEBk06ohQNz0/0X1+IMmvhO3prdoJEA=="
)


def test_hash_has_mosquitto_2_format() -> None:
    encoded = hash_password("s3cret-password-value")

    match = re.fullmatch(r"\$7\$101\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)", encoded)
    assert match is not None, encoded
    assert len(base64.b64decode(match.group(1))) == 12
    assert len(base64.b64decode(match.group(2))) == 64


def test_hash_with_mosquitto_salt_reproduces_mosquitto_passwd_output() -> None:
    salt = base64.b64decode(MOSQUITTO_PASSWD_LINE.split("$")[3])

    assert hash_password("secretsecret", salt=salt) == MOSQUITTO_PASSWD_LINE


def test_verify_accepts_mosquitto_passwd_hash_and_rejects_wrong_password() -> None:
    assert verify_password("secretsecret", MOSQUITTO_PASSWD_LINE)
    assert not verify_password("secretsecreT", MOSQUITTO_PASSWD_LINE)


def test_verify_rejects_garbage() -> None:
    assert not verify_password("x", "$6$abc$def")
    assert not verify_password("x", "$7$abc$###$###")
    assert not verify_password("x", "")


def test_salts_differ_between_hashes() -> None:
    assert hash_password("same") != hash_password("same")


def test_generated_passwords_are_long_random_and_url_safe() -> None:
    passwords = {generate_password() for _ in range(100)}

    assert len(passwords) == 100
    for password in passwords:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", password)
        assert len(base64.urlsafe_b64decode(password + "==")) * 8 >= 128
