"""Launch's egress policy: which Git and S3 triggers may reach what, how git is pinned to the
checked addresses, and that a refused trigger does not fire and says why in last_error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.db.session import Database
from flomation.engine.egress import AddressPolicy
from flomation.engine.nodes.base import BlockedError
from flomation.errors import ConfigurationError
from flomation.launch.egress import EgressRefused, LaunchEgress, policy_name
from flomation.launch.sources.gitcli import GitError, git_access, git_environment, run_git
from flomation.launch.sources.s3 import S3Error, list_objects
from flomation.triggers.config import S3Config
from flomation.triggers.schemas import TriggerWork
from tests.conftest import make_settings
from tests.factories import make_actor
from tests.launch.conftest import MakeLaunch
from tests.launch.servers import recording_server
from tests.launch.test_git import Repo
from tests.rebinding import rebind_to_loopback
from tests.triggers.factories import executions_of, get_trigger, make_flow, make_trigger, put_secret

SHARED_CLOUD = LaunchEgress(AddressPolicy.preset("shared_cloud", owner="Launch"))
LOOPBACK_ALLOWED = LaunchEgress(
    AddressPolicy.preset("shared_cloud", allow=["127.0.0.0/8", "::1"], owner="Launch")
)
SELF_HOSTED = LaunchEgress(AddressPolicy.preset("self_hosted", owner="Launch"))


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings("sqlite:///unused.db", tmp_path, **overrides)


# --- which policy ------------------------------------------------------------------------------


def test_the_policy_is_shared_cloud_when_sign_up_is_open_unless_the_operator_names_one(
    tmp_path: Path,
) -> None:
    assert policy_name(_settings(tmp_path)) == "self_hosted"
    assert policy_name(_settings(tmp_path, signup="open")) == "shared_cloud"
    assert policy_name(_settings(tmp_path, launch_egress_policy="shared_cloud")) == "shared_cloud"
    open_but_trusted = _settings(tmp_path, signup="open", launch_egress_policy="self_hosted")
    assert policy_name(open_but_trusted) == "self_hosted"
    egress = LaunchEgress.from_settings(_settings(tmp_path, signup="open"))
    assert egress.checks_addresses
    assert not egress.allow_local_git


def test_allowed_ranges_come_from_a_comma_separated_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOMATION_LAUNCH_EGRESS_ALLOW", "10.1.0.0/16, 127.0.0.1")
    monkeypatch.setenv("FLOMATION_LAUNCH_ALLOW_LOCAL_GIT", "true")
    egress = LaunchEgress.from_settings(Settings(signup="open"))
    assert [str(net) for net in egress.policy.allow] == ["10.1.0.0/16", "127.0.0.1/32"]
    assert egress.allow_local_git


def test_a_range_that_is_none_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigurationError, match=r"FLOMATION_LAUNCH_EGRESS_ALLOW: .*'10\.0\.0\.300'"
    ):
        LaunchEgress.from_settings(_settings(tmp_path, launch_egress_allow=["10.0.0.300"]))


# --- git URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///root/secret.git", "/root/secret.git", "ext::sh -c id", "fd::3", "~/r.git"]
)
async def test_local_repositories_are_refused_unless_the_operator_allows_them(url: str) -> None:
    with pytest.raises(EgressRefused, match="FLOMATION_LAUNCH_ALLOW_LOCAL_GIT"):
        await git_access(SELF_HOSTED, url)


async def test_git_may_use_the_file_protocol_only_when_local_repositories_are_allowed() -> None:
    allowed = LaunchEgress(SELF_HOSTED.policy, allow_local_git=True)
    local = await git_access(allowed, "file:///srv/repo.git")
    assert local.url == "file:///srv/repo.git"
    assert "file" in local.env["GIT_ALLOW_PROTOCOL"].split(":")
    network = await git_access(SELF_HOSTED, "https://example.com/r.git")
    # Not even through a redirect or an alternate: git itself refuses file:// and ext::.
    assert network.env["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git"
    assert network.config == ()  # self-hosted: git runs as before
    assert network.ssh_options == ()


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("https://127.0.0.1/r.git", "127.0.0.0/8"),
        ("http://localhost:8080/r.git", "127.0.0.0/8"),
        ("ssh://git@10.0.0.5/r.git", "10.0.0.0/8"),
        ("git@192.168.1.1:r.git", "192.168.0.0/16"),
        ("git://[::1]/r", "::1/128"),
        ("https://169.254.169.254/latest/meta-data", "169.254.0.0/16"),
        ("http://[::ffff:127.0.0.1]/r.git", "127.0.0.0/8"),
    ],
)
async def test_shared_cloud_refuses_loopback_private_and_metadata_hosts(
    url: str, blocked: str
) -> None:
    with pytest.raises(EgressRefused, match="Launch's egress policy \\(shared_cloud\\)") as info:
        await git_access(SHARED_CLOUD, url)
    if "localhost" in url:
        # Either of localhost's addresses: both are blocked.
        assert "localhost resolves to it" in str(info.value)
    else:
        assert f"blocked range {blocked}" in str(info.value)


async def test_allowed_hosts_are_pinned_to_the_checked_addresses_with_redirects_off() -> None:
    https = await git_access(LOOPBACK_ALLOWED, "https://localhost:8443/r.git")
    assert "http.followRedirects=false" in https.config
    [resolve] = [item for item in https.config if item.startswith("http.curloptResolve=")]
    pinned = resolve.removeprefix("http.curloptResolve=localhost:8443:")
    assert pinned != resolve
    assert set(pinned.split(",")) <= {"127.0.0.1", "[::1]"}

    ssh = await git_access(LOOPBACK_ALLOWED, "git@localhost:team/r.git")
    assert ssh.url == "git@localhost:team/r.git"
    assert ssh.ssh_options[1] == "-o HostKeyAlias=localhost"
    assert ssh.ssh_options[0] in ("-o HostName=127.0.0.1", "-o HostName=::1")

    daemon = await git_access(LOOPBACK_ALLOWED, "git://localhost/team/r")
    assert daemon.url in ("git://127.0.0.1:9418/team/r", "git://[::1]:9418/team/r")


async def test_git_connects_to_the_pinned_address_not_to_what_the_name_resolves_to(
    tmp_path: Path,
) -> None:
    """The pin is what stops DNS rebinding: a name that does not even resolve reaches the
    checked address, because git asks no resolver."""
    with recording_server() as server:
        port = server.url.rsplit(":", 1)[1]
        async with git_environment("http://x", None, known_hosts=tmp_path / "kh") as env:
            with pytest.raises(GitError):
                await run_git(
                    ["ls-remote", "--", f"http://flomation-pinned.invalid:{port}/r.git"],
                    env=env,
                    timeout_s=30,
                    config=[f"http.curloptResolve=flomation-pinned.invalid:{port}:127.0.0.1"],
                )
    assert server.requests == ["GET /r.git/info/refs?service=git-upload-pack"]
    assert server.hosts == [f"flomation-pinned.invalid:{port}"]


async def test_a_source_s_http_client_refuses_what_the_policy_blocks() -> None:
    """The client a future HTTP-based source gets: the runners' transport, checked on connect."""
    with recording_server() as server:
        async with SHARED_CLOUD.http_client() as client:
            with pytest.raises(BlockedError, match="Launch's egress policy"):
                await client.get(f"{server.url}/hook")
        async with LOOPBACK_ALLOWED.http_client() as client:
            assert (await client.get(f"{server.url}/hook")).status_code == 404
    assert server.requests == ["GET /hook"]


def test_an_s3_endpoint_that_rebinds_to_loopback_after_the_check_is_not_connected_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name that answers a public address to the check and loopback to the connect (DNS
    rebinding): the connection resolves and checks again itself, so nothing reaches loopback."""
    with recording_server() as server:
        port = int(server.url.rsplit(":", 1)[1])
        rebind_to_loopback(monkeypatch, "rebind.test", port)
        config = S3Config(bucket="bucket", endpoint_url=f"http://rebind.test:{port}")
        keys = {"aws_access_key_id": "a", "aws_secret_access_key": "b"}
        with pytest.raises((EgressRefused, S3Error), match=r"blocked range 127\.0\.0\.0/8"):
            list_objects(config, keys, SHARED_CLOUD)
    assert server.requests == []


# --- Launch on the database: refused triggers do not fire ---------------------------------------


async def _trigger(
    database: Database, clock: ManualClock, trigger_type: str, config: dict[str, Any]
) -> tuple[str, str]:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    trigger = await make_trigger(
        database, actor.organization_id, flow_id, trigger_type, config, now=clock.now()
    )
    return actor.organization_id, trigger.id


async def test_a_stored_file_git_trigger_is_refused_by_default_and_never_fires(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    tmp_path: Path,
) -> None:
    """A trigger saved while local repositories were allowed (or by an older version) is
    refused when Launch polls it: nothing is read, nothing fires, last_error says why."""
    repo = Repo(tmp_path / "root-only")
    repo.commit("secret plans", **{"passwords.txt": "hunter2"})
    org, trigger_id = await _trigger(
        database, clock, "git", {"url": repo.url, "branch": "main", "interval_s": 5}
    )
    launch = make_launch(settings=settings.model_copy(update={"launch_allow_local_git": False}))
    for _ in range(2):
        await launch.run_once()
        repo.commit("more secret plans", **{"keys.txt": "x"})
        clock.advance(3600)
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.last_error is not None
    assert "FLOMATION_LAUNCH_ALLOW_LOCAL_GIT" in state.last_error
    assert state.cursor is None
    assert state.error_count == 2
    assert await executions_of(database, org) == []
    assert not (Path(settings.data_dir) / "launch" / "git" / f"{trigger_id}.git").exists()


async def test_git_and_s3_triggers_on_loopback_are_refused_under_shared_cloud(
    database: Database, settings: Settings, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    with recording_server() as server:
        org, git_id = await _trigger(
            database, clock, "git", {"url": f"{server.url}/repo.git", "interval_s": 5}
        )
        await put_secret(
            database,
            settings,
            org,
            "S3_KEYS",
            '{"access_key_id": "testing", "secret_access_key": "testing"}',
        )
        flow_id = await make_flow(database, org)
        s3 = await make_trigger(
            database,
            org,
            flow_id,
            "s3",
            {"bucket": "bucket", "endpoint_url": server.url, "credentials": "S3_KEYS"},
            now=clock.now(),
        )
        saas = settings.model_copy(update={"signup": "open", "launch_egress_policy": None})
        refusing = make_launch(settings=saas)
        await refusing.run_once()
        await refusing.release()
        assert server.requests == []
        for trigger_id in (git_id, s3.id):
            state = (await get_trigger(database, org, trigger_id)).state
            assert state.last_error is not None
            assert "Launch's egress policy (shared_cloud)" in state.last_error
            assert "blocked range 127.0.0.0/8" in state.last_error
            assert state.cursor is None

        # The operator allows this address: the same triggers reach the server.
        allowed = saas.model_copy(update={"launch_egress_allow": ["127.0.0.1/32"]})
        clock.advance(3600)
        await make_launch(settings=allowed).run_once()
        assert "GET /repo.git/info/refs?service=git-upload-pack" in server.requests
        assert any(request.startswith("GET /bucket") for request in server.requests)
    assert await executions_of(database, org) == []


async def test_a_redirect_to_a_blocked_address_is_not_followed(
    database: Database, settings: Settings, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    with (
        recording_server("127.0.0.2") as internal,
        recording_server("127.0.0.1", redirect_to=f"{internal.url}") as public,
    ):
        org, trigger_id = await _trigger(
            database, clock, "git", {"url": f"{public.url}/repo.git", "interval_s": 5}
        )
        only_public = settings.model_copy(
            update={"launch_egress_policy": "shared_cloud", "launch_egress_allow": ["127.0.0.1"]}
        )
        await make_launch(settings=only_public).run_once()
    assert public.requests == ["GET /repo.git/info/refs?service=git-upload-pack"]
    assert internal.requests == []
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.last_error is not None
    assert "ls-remote failed" in state.last_error


class _RefusingSource:
    """A source to come that lets the policy's refusal through."""

    async def run(self, work: TriggerWork) -> None:
        raise EgressRefused("Launch's egress policy (shared_cloud) blocks connections to ...")


async def test_any_source_s_refusal_is_recorded_as_the_trigger_s_last_error(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _trigger(
        database, clock, "git", {"url": "https://example.com/r.git", "interval_s": 5}
    )
    await make_launch(sources={"git": _RefusingSource()}).run_once()
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.last_error == "Launch's egress policy (shared_cloud) blocks connections to ..."
    assert state.error_count == 1
