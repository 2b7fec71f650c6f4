"""Placeholder router: filled in by the handoff work (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["handoffs"])
