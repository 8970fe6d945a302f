"""Offline replay: recorded responses per source, served from a loopback HTTP server.

Layout: each source's ``recorded/`` folder, shared with the golden parser tests, so every
recorded body is stored once (:data:`REPLAY_DIR` is ``crawlers/sources``)::

    crawlers/sources/<source_id>/recorded/
        exchanges.json   what to answer for which URL (see below)
        meta.json        provenance: where each file came from, capture date, what was cut
                         (validated by crawlers.recorded.RecordedMeta)
        <body files>     the recorded bodies, gzip-compressed when they end in .gz

:func:`crawlers.run.replay_folder` also accepts a folder of ``<source_id>/exchanges.json``
snapshots (tests and scripts build such folders) or a single snapshot folder.

``exchanges.json``::

    {"source": "<source_id>",
     "spider_args": {"name": "value"},          # optional, passed as scrapy -a
     "exchanges": [
        {"url": "https://host/path?query",      # the real URL the spider requests
         "match": "exact" | "path",             # "path": any query string matches
         "status": 200,
         "headers": {"Content-Type": "application/json"},
         "body": "file-name",                   # relative to the folder; omit for empty
         "times": 2,                            # optional: answer this way at most N times,
                                                # then the next matching exchange answers
         "delay": 0,                            # optional: seconds to wait (timeouts)
         "truncate": 100}                       # optional: close the connection after N bytes
     ]}

A ``.gz`` body is sent as is with ``Content-Encoding: gzip`` (Scrapy decompresses),
exactly as the publisher's server would. Requests reach the server as
``/<host>/<path>?<query>`` (see :class:`crawlers.middlewares.ReplayRewriteMiddleware`);
an unlisted URL (robots.txt included) answers 404.
"""

from crawlers.replay.server import ReplayServer, load_exchanges
from crawlers.sources import SOURCES_DIR

# What `--replay` / TBT_REPLAY_DIR name for the shipped recordings: the source folders.
REPLAY_DIR = SOURCES_DIR

__all__ = ["REPLAY_DIR", "ReplayServer", "load_exchanges"]
