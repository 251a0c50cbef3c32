"""gunicorn settings (Procfile: web)."""
import os

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 30
backlog = 2048
# No keep-alive here (every answer says Connection: close): gunicorn's threaded worker can reset a
# connection it closes as idle at the moment the client reuses it (gunicorn #2676, #1698). Keep-alive
# belongs to the reverse proxy in front (docs/DEPLOYMENT.md). GUNICORN_KEEPALIVE=2 restores it.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0"))
# No runtime control socket: its default path is per user, so a second gunicorn on the host would clash.
control_socket_disable = True
accesslog = "-"
# No query strings in access logs; private tracking tokens are masked below.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss %({x-request-id}o)s'

from chamber_callback import PRIVATE_PATH as _TOKEN_PATH


class PrivateLinkLogger(Logger):
    """Access log lines never carry the artisan's private status token."""

    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        environ["PATH_INFO"] = _TOKEN_PATH.sub(r"/\1/…", environ.get("PATH_INFO", ""))
        environ["RAW_URI"] = environ["PATH_INFO"]
        super().access(resp, req, environ, request_time)


logger_class = PrivateLinkLogger


# Prometheus: the web processes share their request-latency histogram through files in one folder
# (prometheus-client's multiprocess mode), emptied when gunicorn starts; set before the app loads.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(os.environ.get("INSTANCE_PATH", "instance"), "prometheus"))


def on_starting(_server):
    import shutil

    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(_server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
