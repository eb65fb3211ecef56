"""`--metrics-token`: /metrics answers only with the token when set, openly otherwise."""

import pytest

from coordinator_service.config import Settings
from tests.coordinator.conftest import Api


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": "m" * 32})


async def test_metrics_need_the_token_when_it_is_set(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "m" * 32}):
        refused = await api.client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "bad_metrics_token"
        assert "streamr_" not in refused.text
    allowed = await api.client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert allowed.status_code == 200 and "streamr_" in allowed.text
