"""gunicorn settings (Procfile: web)."""
import os

from gunicorn.glogging import Logger

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
accesslog = "-"
# No query strings in access logs; private tracking tokens are masked below.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'

from chamber_callback import PRIVATE_PATH as _TOKEN_PATH


class PrivateLinkLogger(Logger):
    """Access log lines never carry the artisan's private status token."""

    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        environ["PATH_INFO"] = _TOKEN_PATH.sub(r"/\1/…", environ.get("PATH_INFO", ""))
        environ["RAW_URI"] = environ["PATH_INFO"]
        super().access(resp, req, environ, request_time)


logger_class = PrivateLinkLogger
