"""Dependency for the provisioning job runner (built once by the composition root, started by main.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ...api.deps import service
from .runner import JobRunner


async def get_job_runner(request: Request) -> JobRunner:
    runner: JobRunner = service(request, "job_runner")
    return runner


Runner = Annotated[JobRunner, Depends(get_job_runner)]
