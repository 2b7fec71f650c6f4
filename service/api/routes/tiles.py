"""Placeholder router: filled in by the tiles work (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["tiles"])
