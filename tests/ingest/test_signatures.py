"""Signature verification, table-driven: one row per way a header can be right or wrong."""

from __future__ import annotations

import pytest
from pdjira_ingest.signatures import verify_hub_signature, verify_pagerduty_signature

from .payloads import _hex, hub_signature, pd_signature

BODY = b'{"event":{"id":"01","event_type":"incident.triggered"}}'
OLD, NEW = "old-secret-VGhpcyBsb29rcyBsaWtlIGJhc2U2NA==", "new-secret-2"


@pytest.mark.parametrize(
    ("header", "secrets", "expected"),
    [
        pytest.param(pd_signature(BODY, OLD), [OLD], True, id="one-entry-one-secret"),
        pytest.param(pd_signature(BODY, NEW, OLD), [OLD], True, id="second-entry-matches"),
        pytest.param(pd_signature(BODY, OLD), [NEW, OLD], True, id="rotation-old-secret-kept"),
        pytest.param(pd_signature(BODY, NEW), [NEW, OLD], True, id="rotation-new-secret"),
        pytest.param(pd_signature(BODY, OLD), [NEW], False, id="wrong-secret"),
        pytest.param(pd_signature(b"tampered", OLD), [OLD], False, id="other-body"),
        pytest.param(None, [OLD], False, id="missing-header"),
        pytest.param("", [OLD], False, id="empty-header"),
        pytest.param("v1=not-hex," + pd_signature(BODY, OLD), [OLD], True, id="non-hex-skipped"),
        pytest.param("v1=zz", [OLD], False, id="only-non-hex"),
        pytest.param(f"v0={_hex(OLD, BODY)}", [OLD], False, id="non-v1-scheme-ignored"),
        pytest.param(f"v1={_hex(OLD, BODY)[:-2]}", [OLD], False, id="truncated-digest"),
        pytest.param(f"v1={_hex(OLD, BODY).upper()}", [OLD], True, id="uppercase-hex"),
        pytest.param(f" v1={_hex(NEW, BODY)} , v1={_hex(OLD, BODY)} ", [OLD], True, id="spaces"),
        pytest.param(_hex(OLD, BODY), [OLD], False, id="bare-hex-without-scheme"),
        pytest.param(pd_signature(BODY, OLD), [], False, id="no-secrets-configured"),
        pytest.param(pd_signature(BODY, ""), [""], False, id="empty-secret-never-matches"),
    ],
)
def test_pagerduty_signature(header: str | None, secrets: list[str], expected: bool) -> None:
    assert verify_pagerduty_signature(BODY, header, secrets) is expected


def test_pagerduty_key_is_the_secret_text_not_base64_decoded() -> None:
    # The secret looks like base64; PagerDuty keys the HMAC with its UTF-8 bytes as-is.
    import base64
    import hashlib
    import hmac

    decoded_key = base64.b64decode("VGhpcyBsb29rcyBsaWtlIGJhc2U2NA==")
    forged = hmac.new(decoded_key, BODY, hashlib.sha256).hexdigest()
    secret = "VGhpcyBsb29rcyBsaWtlIGJhc2U2NA=="
    assert not verify_pagerduty_signature(BODY, f"v1={forged}", [secret])
    assert verify_pagerduty_signature(BODY, pd_signature(BODY, secret), [secret])


@pytest.mark.parametrize(
    ("header", "secret", "expected"),
    [
        pytest.param(hub_signature(BODY, OLD), OLD, True, id="valid"),
        pytest.param(hub_signature(BODY, NEW), OLD, False, id="wrong-secret"),
        pytest.param(hub_signature(b"other", OLD), OLD, False, id="other-body"),
        pytest.param(None, OLD, False, id="missing-header"),
        pytest.param("", OLD, False, id="empty-header"),
        pytest.param(f"SHA256={_hex(OLD, BODY)}", OLD, True, id="scheme-case-insensitive"),
        pytest.param(f"sha1={_hex(OLD, BODY)}", OLD, False, id="other-algorithm"),
        pytest.param("sha256=xyz", OLD, False, id="non-hex"),
        pytest.param(_hex(OLD, BODY), OLD, False, id="bare-hex"),
        pytest.param(hub_signature(BODY, ""), "", False, id="empty-secret"),
    ],
)
def test_hub_signature(header: str | None, secret: str, expected: bool) -> None:
    assert verify_hub_signature(BODY, header, secret) is expected
