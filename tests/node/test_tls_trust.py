"""The node's HTTP clients share one set of trusted CAs (issue 17: each copy cost ~0.8 MB)."""

import ssl

from desktop_app.core.tls_trust import trusted_context


def test_one_context_per_process_that_verifies_servers() -> None:
    context = trusted_context()

    assert trusted_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_clients_that_ignore_the_environment_get_their_own() -> None:
    assert trusted_context(trust_env=False) is not trusted_context()
    assert trusted_context(trust_env=False).cert_store_stats()["x509_ca"] > 0
