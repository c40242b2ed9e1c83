"""Simulator errors; each says what to do next.

SimulatorError
 ├── CredentialsError   credentials file unreadable or a line is not an EnrollResponse (fix or delete it)
 ├── EnrollmentError    the controller refused login, import or enrollment (check URL, account, serials)
 └── PoolError          a session could not be opened (broker down, refused; retried by the worker)
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every simulator error."""


class CredentialsError(SimulatorError):
    pass


class EnrollmentError(SimulatorError):
    pass


class PoolError(SimulatorError):
    pass
