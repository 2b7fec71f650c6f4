"""Where handoff personal data could slip out: a view that shows a decrypted field must audit
it."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from service.auth.principal import Role
from tests.test_handoffs_support import (  # noqa: F401 - fixtures
    EAST_CENTRE,
    OTTAWA,
    auth,
    client,
    create,
    handoff_body,
    handoff_database_url,
    handoff_engine,
    handoff_server,
    navigator_auth,
)

REASON = "CANARY-reason-went-to-a-cousin"


def _decrypted_fields_of_referrer_view(view: dict) -> set[str]:
    """The fields of a referrer view that hold decrypted personal data."""
    return {"status_reasons"} if any(entry["reason"] for entry in view["history"]) else set()


def _entries(engine, handoff_id: str, action: str, subject: str) -> list[list[str]]:
    with engine.connect() as connection:
        return [list(fields) for fields in connection.execute(text("""
            SELECT fields FROM handoff_audit WHERE handoff_id = :id AND action = :action AND actor_subject = :subject ORDER BY id
        """), {"id": handoff_id, "action": action, "subject": subject}).scalars()]


def test_the_referrers_reads_audit_the_status_reasons_they_show(client, handoff_engine):
    subject = f"reasons-{uuid.uuid4().hex[:6]}"
    worker = lambda: auth(Role.FIELD_WORKER, subject=subject)  # noqa: E731
    with_reason = create(client, handoff_body(location=OTTAWA), subject=subject)["id"]
    without = create(client, handoff_body(location=OTTAWA), subject=subject)["id"]
    assert client.post(f"/v1/handoffs/{with_reason}/transitions", json={"status": "cancelled", "reason": REASON},
                       headers=worker()).status_code == 200

    detail = client.get(f"/v1/handoffs/{with_reason}", headers=worker()).json()
    assert [h["reason"] for h in detail["history"] if h["reason"]] == [REASON]  # the view shows it decrypted ...
    page = client.get("/v1/handoffs", headers=worker()).json()["handoffs"]
    listed = {view["id"]: view for view in page}
    plain = client.get(f"/v1/handoffs/{without}", headers=worker()).json()

    [read] = _entries(handoff_engine, with_reason, "read", subject)
    [in_list] = _entries(handoff_engine, with_reason, "list", subject)
    assert "status_reasons" in read and "status_reasons" in in_list  # ... so its audit entries name it
    for view, fields in ((detail, read), (listed[with_reason], in_list), (plain, _entries(handoff_engine, without, "read", subject)[0]),
                         (listed[without], _entries(handoff_engine, without, "list", subject)[0])):
        assert _decrypted_fields_of_referrer_view(view) <= set(fields), (view["id"], fields)
    assert "status_reasons" not in _entries(handoff_engine, without, "read", subject)[0]  # nothing decrypted, nothing named
