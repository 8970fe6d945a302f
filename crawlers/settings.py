"""Scrapy settings of the tbt-alert crawlers: polite, patient and quiet.

Scrapy reads this module when a crawl process starts (``scrapy crawl`` or
``tbt-alert crawl``, which runs ``scrapy crawl`` as a child process). The only
environment value read here is the contact address for the User-Agent, with the
same default as :mod:`tbt_alert.settings`; the database URL and the rest are read
by the item pipelines through :func:`tbt_alert.settings.load_settings`.
"""

import os

BOT_NAME = "tbt-alert"
# The spiders live in the source folders (crawlers/sources/<id>/spider.py, or built from
# the YAML when a source needs no navigation code); this loader finds them.
SPIDER_LOADER_CLASS = "crawlers.spiders.loader.SourceSpiderLoader"
SPIDER_MODULES: list[str] = []

# Publishers should be able to tell who we are and reach us.
_CONTACT = os.environ.get("TBT_CONTACT_EMAIL", "tbt-alert@example.org")
USER_AGENT = f"tbt-alert/0.1 (technical-barriers-to-trade early warning; contact {_CONTACT})"

ROBOTSTXT_OBEY = True

# Scrapy does not verify TLS certificates by default; without this anyone on the crawl path
# could serve made-up measures as a government source, and they would be mailed to subscribers.
DOWNLOAD_VERIFY_CERTIFICATES = True
# Sources are fetched over http(s) only; the other stock handlers would let a crawled link
# read local files (file://), forge responses (data:) or reach other services.
DOWNLOAD_HANDLERS: dict[str, str | None] = {"file": None, "data": None, "s3": None, "ftp": None}

# Government sites are small; never more than two requests in flight per domain,
# and AutoThrottle backs off further when the server slows down.
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Retry rate limiting, server errors and timeouts; the backoff grows per attempt
# (crawlers.middlewares.BackoffRetryMiddleware replaces the stock one).
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry; doubled each time
RETRY_BACKOFF_MAX = 60.0
DOWNLOAD_TIMEOUT = 60  # the Health Canada dump is ~20 MB; a minute is enough on a slow line

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    # Last before the download: robots.txt and retries see the real URL, only the
    # wire goes to the loopback replay server.
    "crawlers.middlewares.ReplayRewriteMiddleware": 990,
}

ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.NormalisePipeline": 200,
    "crawlers.pipelines.StorePipeline": 300,
}

# Nobody should be able to drive a crawl from outside the process.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

LOG_LEVEL = "INFO"
LOG_INSTALL_ROOT_HANDLER = True

# Big answers (the Health Canada dump) are fine; warn well before the default cap.
DOWNLOAD_WARNSIZE = 64 * 1024 * 1024
DOWNLOAD_MAXSIZE = 512 * 1024 * 1024

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
