"""Small FastAPI dependencies, overridable in tests (see tipg's dependencies.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from service.api.data_version import DataVersion


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_data_version(request: Request) -> DataVersion:
    return request.app.state.data_version


EngineDep = Annotated[Engine, Depends(get_engine)]
DataVersionDep = Annotated[DataVersion, Depends(get_data_version)]
