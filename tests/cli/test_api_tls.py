"""`flomation api --tls-cert --tls-key` serves HTTPS itself, and only HTTPS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cli.test_up import free_port


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_api_serves_https_with_the_given_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOMATION_")}
    env.update(FLOMATION_DATA_DIR=str(tmp_path / "data"), FLOMATION_LOG_LEVEL="WARNING")
    command = [sys.executable, "-m", "flomation", "api", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--tls-cert", str(cert), "--tls-key", str(key)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                trust = ssl.create_default_context(cafile=str(cert))
                secure = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust)
                break
            except httpx.ConnectError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert secure.status_code == 200
        assert secure.json() == {"status": "ok"}
        # Plain HTTP on the same port gets no answer from the API.
        try:
            plain = httpx.get(f"http://127.0.0.1:{port}/healthz")
        except httpx.HTTPError:
            plain = None
        assert plain is None or plain.status_code != 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
