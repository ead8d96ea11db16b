"""Crawl the crawlbench site with Scrapy and print the result as one JSON line.

crawlbench (benchmarks/peers) runs this file as a process of its own, with the
flags its Go crawler modes take. Every same-host link is followed, robots.txt
is obeyed, and each page's a[href] elements are selected and counted, as the
other crawlers do. The server certificate is checked against the root given
with --ca instead of Scrapy's default of not checking at all.
"""

import argparse
import json
import sys
import time
from urllib.parse import urlsplit

import scrapy
from scrapy.core.downloader.contextfactory import ScrapyClientContextFactory
from scrapy.crawler import CrawlerProcess
from twisted.internet import ssl


class VerifyingContextFactory(ScrapyClientContextFactory):
    """Makes client TLS connections that trust only the root in CRAWLBENCH_CA."""

    @classmethod
    def from_settings(cls, settings, *args, **kwargs):
        factory = super().from_settings(settings, *args, **kwargs)
        with open(settings["CRAWLBENCH_CA"], "rb") as f:
            factory.root = ssl.Certificate.loadPEM(f.read())
        return factory

    def creatorForNetloc(self, hostname, port):
        return ssl.optionsForClientTLS(hostname.decode("ascii"), trustRoot=self.root)


class SiteSpider(scrapy.Spider):
    name = "crawlbench"

    def __init__(self, root, tally, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [root + "/"]
        self.allowed_domains = [urlsplit(root).hostname]
        self.tally = tally

    def parse(self, response):
        self.tally["pages"] += 1
        proto = getattr(response, "protocol", None) or "unknown"
        self.tally["protocols"][proto] = self.tally["protocols"].get(proto, 0) + 1
        for href in response.css("a[href]::attr(href)").getall():
            self.tally["links"] += 1
            # Scrapy refuses to make a request of a mailto: link, where the
            # other crawlers pass over it.
            url = response.urljoin(href)
            if urlsplit(url).scheme in ("http", "https"):
                yield scrapy.Request(url, callback=self.parse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-host", type=int, default=0)
    args = ap.parse_args()
    per_host = args.per_host or args.concurrency

    start = time.monotonic()
    tally = {"pages": 0, "links": 0, "protocols": {}}
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": True,
            "DOWNLOADER_CLIENTCONTEXTFACTORY": VerifyingContextFactory,
            "CRAWLBENCH_CA": args.ca,
            "DOWNLOAD_TIMEOUT": 60,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        }
    )
    crawler = process.create_crawler(SiteSpider)
    process.crawl(crawler, root=args.url.rstrip("/"), tally=tally)
    process.start()

    stats = crawler.stats.get_stats()
    protocols = sorted(tally["protocols"].items(), key=lambda kv: -kv[1])
    if len(protocols) == 1:
        protocol = protocols[0][0]
    else:
        protocol = ", ".join(f"{k} {v}" for k, v in protocols)
    result = {
        "crawler": "scrapy",
        "pages": tally["pages"],
        "links": tally["links"],
        "errors": stats.get("log_count/ERROR", 0),
        "seconds": time.monotonic() - start,
        "protocol": protocol,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
