"""Where handoff personal data could slip out: a view that shows a decrypted field must audit
it, and a request that fails in the database must not log the row it was writing."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.location import cell_r7
from tests.support.handoffs import HANDOFF_ENV, OTTAWA, create, handoff_body, load_test_centres
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth

REASON = "CANARY-reason-went-to-a-cousin"


def _decrypted_fields_of_referrer_view(view: dict) -> set[str]:
    """The fields of a referrer view that hold decrypted personal data."""
    return {"status_reasons"} if any(entry["reason"] for entry in view["history"]) else set()


def _entries(engine, handoff_id: str, action: str, subject: str) -> list[list[str]]:
    with engine.connect() as connection:
        return [
            list(fields)
            for fields in connection.execute(
                text("""
            SELECT fields FROM handoff_audit WHERE handoff_id = :id AND action = :action AND actor_subject = :subject ORDER BY id
        """),
                {"id": handoff_id, "action": action, "subject": subject},
            ).scalars()
        ]


def test_the_referrers_reads_audit_the_status_reasons_they_show(client, handoff_engine):
    subject = f"reasons-{uuid.uuid4().hex[:6]}"
    worker = lambda: auth(Role.FIELD_WORKER, subject=subject)  # noqa: E731
    with_reason = create(client, handoff_body(location=OTTAWA), subject=subject)["id"]
    without = create(client, handoff_body(location=OTTAWA), subject=subject)["id"]
    assert (
        client.post(
            f"/v1/handoffs/{with_reason}/transitions", json={"status": "cancelled", "reason": REASON}, headers=worker()
        ).status_code
        == 200
    )

    detail = client.get(f"/v1/handoffs/{with_reason}", headers=worker()).json()
    assert [h["reason"] for h in detail["history"] if h["reason"]] == [REASON]  # the view shows it decrypted ...
    page = client.get("/v1/handoffs", headers=worker()).json()["handoffs"]
    listed = {view["id"]: view for view in page}
    plain = client.get(f"/v1/handoffs/{without}", headers=worker()).json()

    [read] = _entries(handoff_engine, with_reason, "read", subject)
    [in_list] = _entries(handoff_engine, with_reason, "list", subject)
    assert "status_reasons" in read and "status_reasons" in in_list  # ... so its audit entries name it
    for view, fields in (
        (detail, read),
        (listed[with_reason], in_list),
        (plain, _entries(handoff_engine, without, "read", subject)[0]),
        (listed[without], _entries(handoff_engine, without, "list", subject)[0]),
    ):
        assert _decrypted_fields_of_referrer_view(view) <= set(fields), (view["id"], fields)
    assert (
        "status_reasons" not in _entries(handoff_engine, without, "read", subject)[0]
    )  # nothing decrypted, nothing named


def test_a_database_failure_while_creating_a_handoff_logs_no_personal_data(database_url, tmp_path):
    load_test_centres(database_url, tmp_path)
    engine = create_engine(database_url)
    with engine.begin() as connection:  # every handoff insert now fails in the database
        connection.execute(text("ALTER TABLE handoff ADD CONSTRAINT zz_forced_failure CHECK (false) NOT VALID"))
    engine.dispose()
    subject = f"CANARY-subject-{uuid.uuid4().hex[:6]}"
    body = handoff_body(
        phone="613 555 0163",
        name="Ophelia Canary",
        note="CANARY-note-under-the-bridge",
        location=OTTAWA,
        consent_scope=("contact", "location"),
        must_attend=True,
    )
    body["contact"].update(alternative="CANARY-alternative-drop-in")
    server = start_server(database_url, env=HANDOFF_ENV)
    try:
        with server.client() as http:
            failed = http.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, subject=subject))
    finally:
        output = stop_server(server)
    assert failed.status_code == 500 and failed.json()["type"].endswith("/internal-error")
    # The failure is logged, with what an operator needs ...
    assert (
        "unhandled error on POST /v1/handoffs" in output
        and "CheckViolation" in output
        and "zz_forced_failure" in output
    )
    # ... and nothing of the row: no ciphertext (Fernet tokens start gAAAAA; bytea shows them in hex), phone, name,
    # note, subject, cell or coordinates.
    cell = cell_r7(OTTAWA["lat"], OTTAWA["lon"])
    for secret in (
        "gAAAAA",
        "674141414141",
        "6135550163",
        "555 0163",
        "Ophelia",
        "CANARY",
        subject,
        str(cell),
        f"{cell:x}",
        str(OTTAWA["lat"]),
        "[parameters",
        "Failing row",
    ):
        assert secret not in output, f"{secret!r} appeared in the server log"
