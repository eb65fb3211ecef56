"""The local status page answers only its own loopback names (no DNS rebinding)."""

import httpx

from desktop_app.core.status_page import StatusPage


async def test_status_page_answers_only_loopback_host_names() -> None:
    page = StatusPage(lambda: {"state": "idle", "streams": []}, port=0)
    await page.start()
    try:
        base = f"http://127.0.0.1:{page.port}"
        async with httpx.AsyncClient() as client:
            for host in (f"127.0.0.1:{page.port}", f"localhost:{page.port}"):
                ok = await client.get(f"{base}/status.json", headers={"Host": host})
                assert ok.status_code == 200 and ok.json()["state"] == "idle"
            assert (await client.get(f"{base}/status.json")).status_code == 200
            for host in (
                f"evil.example:{page.port}",  # a rebinding page's own name
                "evil.example",
                "127.0.0.1",  # no port: not how a browser on this page asks
                f"127.0.0.1:{page.port + 1}",
                f"localhost.evil.example:{page.port}",
                "",
            ):
                for path in ("/status.json", "/"):
                    refused = await client.get(f"{base}{path}", headers={"Host": host})
                    assert refused.status_code == 421, host
                    assert "idle" not in refused.text
    finally:
        await page.stop()
