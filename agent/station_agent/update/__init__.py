"""Firmware updates on the device: A/B agent slots with a health-gated commit, OS images through RAUC.

launcher.py  the never-replaced starter of the selected slot (stdlib, copied to ``<root>/launcher.py``)
settings.py  typed settings from the launcher's environment and ``<root>/update.json``
verify.py    signed-manifest check against the pinned *firmware* keys
download.py  resumable, verified, rate-capped file download (HTTP Range)
cache.py     files of the installed release by sha256: unchanged wheels are not fetched again
slots.py     stage / smoke-test / publish an agent release into the inactive slot
health.py    the trial agent's proof of health (broker, birth, telemetry, self-checks)
rauc.py      the RAUC adapter (``rauc`` CLI on the system D-Bus) for kind ``os``
os_update.py OS install through RAUC and the after-boot mark-good / mark-bad
service.py   ``firmware.update`` / ``firmware.status``, the job worker, commit and rollback
records.py   progress events, restart windows, birth fields
faults.py    one-shot kill points for the crash tests (no-op unless the test sets them)
build.py     the parts the runtime adds to every role
"""
