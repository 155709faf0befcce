"""A real RFC 3161 time-stamping authority on loopback, for the seal's tests.

``openssl ts -reply`` does the TSA's work (Debian's openssl); a small HTTP
server in a thread hands it each query, as a TSA's web front does.  The
certificates (a root and a TSA certificate with the critical timeStamping
extended key usage) are made by ``openssl req``/``openssl x509`` in the
test's folder.  No crypto is mocked.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")

CONFIG = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ tsa_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _run(*args: str, cwd: Path) -> None:
    done = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr}")


@dataclass
class TSA:
    url: str
    ca_pem: bytes
    server: http.server.HTTPServer
    folder: Path
    #: Set to False to make the TSA refuse (HTTP 503), as a TSA that is down.
    up: bool = True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_certificates(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openssl.cnf").write_text(CONFIG.format(dir=folder), encoding="utf-8")
    (folder / "serial").write_text("01\n", encoding="ascii")
    _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
         "-out", "ca.crt", "-days", "3650", "-subj", "/CN=Racine de test livret", "-config", "openssl.cnf",
         "-extensions", "ca_ext", cwd=folder)
    _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key",
         "-out", "tsa.csr", "-subj", "/CN=Horodatage de test livret", "-config", "openssl.cnf", cwd=folder)
    _run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "tsa.crt", "-days", "3650", "-extfile", "openssl.cnf", "-extensions", "tsa_ext", cwd=folder)


def start_tsa(folder: Path) -> TSA:
    if OPENSSL is None:
        pytest.skip("openssl absent : pas d'autorité d'horodatage de test (apt-get install openssl)")
    make_certificates(folder)
    holder: dict[str, TSA] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            if not holder["tsa"].up:
                self.send_error(503)
                return
            query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                (Path(tmp) / "q.tsq").write_bytes(query)
                try:
                    _run("ts", "-reply", "-config", str(folder / "openssl.cnf"), "-queryfile", "q.tsq",
                         "-out", "r.tsr", cwd=Path(tmp))
                except RuntimeError:
                    self.send_error(400)
                    return
                body = (Path(tmp) / "r.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tsa = TSA(f"http://127.0.0.1:{server.server_address[1]}/tsa", (folder / "ca.crt").read_bytes(), server, folder)
    holder["tsa"] = tsa
    return tsa
