"""GET /api/v1/streams: names and liveness for anyone; origin URLs only for nodes and the host."""

from tests.coordinator.conftest import Api


async def test_the_public_stream_list_hides_origin_urls(api: Api) -> None:
    await api.create_stream("demo")
    anonymous = (await api.client.get("/api/v1/streams")).json()
    assert [(s["name"], s["origin_url"]) for s in anonymous] == [("demo", "")]
    wrong = await api.client.get("/api/v1/streams", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 200 and wrong.json()[0]["origin_url"] == ""

    node = await api.register()
    as_node = await api.client.get(
        "/api/v1/streams", headers={"Authorization": f"Bearer {node['node_token']}"}
    )
    assert as_node.json()[0]["origin_url"] == "http://origin.test/live/demo.m3u8"
    as_host = await api.client.get("/api/v1/streams", headers=api.admin)
    assert as_host.json()[0]["origin_url"] == "http://origin.test/live/demo.m3u8"
