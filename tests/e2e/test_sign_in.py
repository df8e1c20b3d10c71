"""Signing in and out through the page."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, Flomation, new_page, sign_in


async def test_a_wrong_password_is_refused_and_the_right_one_signs_in_and_out(
    browser: Browser, flomation_up: Flomation
) -> None:
    context, page, errors = await new_page(browser, None)
    try:
        await sign_in_with_wrong_password(page, flomation_up.base_url)
        await sign_in(page, flomation_up.base_url)
        await expect(page.get_by_test_id("current-user")).to_have_attribute("data-role", "owner")
        await expect(page.get_by_test_id("current-user")).to_contain_text("Administrator")
        await expect(page.get_by_test_id("flow-list")).to_be_visible()

        await page.get_by_test_id("sign-out").click()
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        # The session is revoked on the server, not only forgotten by the page.
        await page.reload()
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        me = await page.request.get(f"{flomation_up.base_url}/api/v1/me")
        assert me.status == 401
    finally:
        await context.close()
    assert not errors, errors


async def sign_in_with_wrong_password(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/")
    await page.get_by_test_id("login-email").fill(ADMIN_EMAIL)
    await page.get_by_test_id("login-password").fill("not-the-password")
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("login-error")).to_be_visible()
    await expect(page.get_by_test_id("current-user")).to_have_count(0)
