"""Signing in to the dashboard, its session cookie, CSRF refusal and security headers."""

from datetime import UTC, datetime, timedelta

import httpx

from coordinator_service.dashboard.auth import COOKIE_NAME, create_login_code
from tests.dashboard.conftest import Dash, csrf_of


async def test_dashboard_pages_redirect_to_sign_in_when_signed_out(dash: Dash) -> None:
    for path in ("/", "/streams", "/nodes", "/invites", "/nodes/x"):
        response = await dash.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


async def test_sign_in_with_admin_token_sets_strict_httponly_cookie(dash: Dash) -> None:
    page = await dash.client.get("/login")
    response = await dash.client.post(
        "/login",
        data={"token": dash.admin_token, "csrf_token": csrf_of(page.text), "next": "/nodes"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/nodes"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert (await dash.client.get("/nodes")).status_code == 200


async def test_cookie_is_secure_over_https(dash: Dash) -> None:
    transport = httpx.ASGITransport(app=dash.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.get("/login")
    assert "Secure" in response.headers["set-cookie"]


async def test_wrong_token_is_refused_with_a_message(dash: Dash) -> None:
    page = await dash.client.get("/login")
    response = await dash.client.post(
        "/login", data={"token": "wrong", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "That is not the admin token." in response.text
    assert (await dash.client.get("/")).status_code == 303


async def test_sign_in_never_redirects_to_another_site(dash: Dash) -> None:
    page = await dash.client.get("/login")
    response = await dash.client.post(
        "/login",
        data={
            "token": dash.admin_token,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/"


async def test_forms_without_the_sessions_csrf_token_are_refused(dash: Dash) -> None:
    await dash.sign_in()
    missing = await dash.client.post("/invites", data={"uses": "1", "expires": "1d"})
    assert missing.status_code == 403
    assert "Reload the page and try again" in missing.text
    transport = httpx.ASGITransport(app=dash.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        foreign = csrf_of((await other.get("/login")).text)
    wrong = await dash.client.post(
        "/invites", data={"uses": "1", "expires": "1d", "csrf_token": foreign}
    )
    assert wrong.status_code == 403
    login = await dash.client.post("/login", data={"token": dash.admin_token})
    assert login.status_code == 403


async def test_tampered_cookie_is_not_a_session(dash: Dash) -> None:
    await dash.sign_in()
    value = dash.client.cookies[COOKIE_NAME]
    body, signature = value.split(".")
    dash.client.cookies.set(COOKIE_NAME, body + "x." + signature)
    assert (await dash.client.get("/")).status_code == 303


async def test_rotating_the_admin_token_signs_sessions_out(dash: Dash) -> None:
    await dash.sign_in()
    assert (await dash.client.get("/")).status_code == 200
    dash.ctx.admin_token = "a-rotated-admin-token"
    assert (await dash.client.get("/")).status_code == 303


async def test_one_time_login_link_works_once(dash: Dash) -> None:
    async with dash.db() as db:
        code = await create_login_code(db)
    first = await dash.client.get(f"/login/{code}")
    assert first.status_code == 200
    assert '<meta http-equiv="refresh" content="0; url=/">' in first.text  # on to the dashboard
    assert (await dash.client.get("/")).status_code == 200
    dash.client.cookies.clear()
    second = await dash.client.get(f"/login/{code}")
    assert second.status_code == 401
    assert "used already or has expired" in second.text
    assert "<code>streamr-coordinator dashboard-link</code>" in second.text
    assert "`" not in second.text  # no Markdown backticks shown to the host
    assert (await dash.client.get("/")).status_code == 303


async def test_expired_login_link_is_refused(dash: Dash) -> None:
    async with dash.db() as db:
        code = await create_login_code(db, now=datetime.now(UTC) - timedelta(hours=1))
    assert (await dash.client.get(f"/login/{code}")).status_code == 401
    assert (await dash.client.get("/login/not-a-code")).status_code == 401


async def test_sign_out_ends_the_session(dash: Dash) -> None:
    await dash.sign_in()
    response = await dash.client.post("/logout", data={"csrf_token": await dash.csrf("/")})
    assert response.status_code == 303
    assert (await dash.client.get("/")).status_code == 303


async def test_pages_carry_security_headers(dash: Dash) -> None:
    await dash.sign_in()
    for path in ("/login", "/", "/nodes"):
        headers = (await dash.client.get(path)).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


async def test_guessing_the_token_is_rate_limited(dash: Dash) -> None:
    csrf = csrf_of((await dash.client.get("/login")).text)
    statuses = [
        (
            await dash.client.post("/login", data={"token": f"guess{i}", "csrf_token": csrf})
        ).status_code
        for i in range(40)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429


async def test_sign_out_revokes_the_cookie_on_the_server(dash: Dash) -> None:
    await dash.sign_in()
    stolen = dash.client.cookies.get(COOKIE_NAME)
    assert stolen and (await dash.client.get("/nodes")).status_code == 200
    csrf = await dash.csrf("/")
    assert (await dash.client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    # someone kept a copy of the signed-in cookie: it no longer opens any host page
    dash.client.cookies.clear()
    dash.client.cookies.set(COOKIE_NAME, stolen)
    for path in ("/", "/nodes", "/payouts", "/invites"):
        answer = await dash.client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    forged_post = await dash.client.post("/nodes/x/ban", data={"csrf_token": csrf})
    assert forged_post.status_code in (303, 403)
    # signing in again gives a new session that works
    dash.client.cookies.clear()
    await dash.sign_in()
    assert (await dash.client.get("/nodes")).status_code == 200
