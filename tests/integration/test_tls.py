"""HTTPS targets: ssl.certificate_authorities, verification_mode, and the
error document when the chain cannot be verified.  The target is a real TLS
server on loopback with a test CA (tests/data/tls)."""

import http.server
import os
import ssl
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expvarlib as X  # noqa: E402

TLS = X.data_path("tls")


class HttpsTarget:
    """A threaded HTTPS server answering /debug/vars with a capture."""

    def __init__(self, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(TLS, "server.pem"), os.path.join(TLS, "server.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    def url(self, host="127.0.0.1"):
        return "https://%s:%d/debug/vars" % (host, self.httpd.server_address[1])


def scrape(url, ssl_opts):
    module = X.golang_module(url, metricsets=["expvar"], namespace="tls", ssl=ssl_opts)
    with X.Daemon({"metricbeat.modules": [module]}) as d:
        d.wait_for(lambda docs: len(docs) >= 1, 15, "a document")
        return d.docs()[0]


class TestTls(unittest.TestCase):
    def test_trusted_ca_verifies(self):
        with HttpsTarget(X.read_data("etcd.json")) as srv:
            doc = scrape(srv.url(), {"certificate_authorities": [os.path.join(TLS, "ca.pem")]})
        self.assertNotIn("error", doc)
        self.assertEqual(X.load_golden("etcd.golang-ns.expected.json"), X.get(doc, "golang", "tls"))
        self.assertEqual(srv.url(), doc["service"]["address"])

    def test_unknown_ca_is_an_error_document(self):
        with HttpsTarget(X.read_data("etcd.json")) as srv:
            doc = scrape(srv.url(), {"verification_mode": "full"})
        msg = X.error_message(doc)
        self.assertTrue(msg.startswith('error in http fetch: error making http request: Get "%s": '
                                       % srv.url()), msg)
        self.assertIn("x509: certificate signed by unknown authority", msg)
        self.assertIsNone(X.get(doc, "golang"))

    def test_verification_none_accepts_any_certificate(self):
        with HttpsTarget(X.read_data("ginexpvar.json")) as srv:
            doc = scrape(srv.url(), {"verification_mode": "none"})
        self.assertNotIn("error", doc)
        self.assertEqual(X.load_golden("ginexpvar.golang-ns.expected.json"), X.get(doc, "golang", "tls"))


if __name__ == "__main__":
    unittest.main()
