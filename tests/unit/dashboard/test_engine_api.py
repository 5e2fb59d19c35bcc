"""How the dashboard words a refusal of the engine's admin API (dashboard/engine_api.py): the field
by its label on the form, then the engine's own reason; signed-out or disabled callers are told so."""

from __future__ import annotations

from frontdesk.dashboard.engine_api import ApiAnswer, error_parts

LABELS = {"email": "E-mail", "queues": "Queues", "mail_templates": "Mail templates"}


def refusal(status: int, code: str, message: str, field: str | None = None) -> ApiAnswer:
    error = {"code": code, "message": message} | ({"field": field} if field else {})
    return ApiAnswer(status, {"error": error})


def test_a_refusal_names_the_field_by_its_label_and_keeps_the_engines_reason() -> None:
    assert error_parts(refusal(409, "duplicate", "another staff member has this e-mail address", "email"), LABELS) \
        == ("E-mail", "another staff member has this e-mail address")
    assert error_parts(refusal(422, "invalid_value", "there is no queue 'x'", "queues[1]"), LABELS)[0] == "Queues"
    assert error_parts(refusal(422, "invalid_value", "bad", "mail_templates.de.subject"), LABELS)[0] == \
        "Mail templates"
    assert error_parts(refusal(422, "invalid_value", "bad", "retention_days"), LABELS)[0] == "retention days"
    assert error_parts(refusal(404, "not_found", "no such queue"), LABELS) == ("", "no such queue")


def test_a_caller_without_rights_is_told_why_not_what_the_engine_said() -> None:
    label, message = error_parts(refusal(401, "unauthenticated", "bad or expired token"), LABELS)
    assert label == "" and "disabled" in message
    assert error_parts(ApiAnswer(500, {}), LABELS) == ("", "the engine answered 500")
