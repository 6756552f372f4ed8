"""How ``gunicorn wsgi:app`` serves the clinic: gunicorn reads this file from the directory
it starts in (the repository's root). docs/deploy.md says why each value is what it is;
options given on the command line (``--bind``, ``--workers``...) win over these.

Threaded workers: each request runs in one of a worker's threads, so a phone sending
photos slowly, or a photo being prepared, holds one thread while the other threads of
the same worker answer the consultants' polls and Cal.com's deliveries. Sync workers
handle one request each: three patients uploading over a slow mobile connection held
both workers of a two-core server for 20 s, and every poll and delivery waited.
"""

import os

worker_class = "gthread"
# One process per core does the CPU work (decoding photos, rendering pages) in parallel;
# the threads in each are for waiting (on slow clients, on PostgreSQL, on the photo lock).
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
# Up to seven requests of a worker may wait on slow clients while it still answers. Each
# running request holds at most one database connection (SQLAlchemy's pool keeps 15).
threads = 8
# A worker whose main loop stops answering the master for this long is restarted. Threaded
# workers keep beating while their requests run, so a long upload is not cut short.
timeout = 30
graceful_timeout = 30
# Kept-alive connections (a dashboard's polls) wait in the worker's poller, not a thread.
keepalive = 5
# The access log names the path, never the query string: dashboard searches and Cal.com's
# forwarded redirect parameters travel there.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s'
