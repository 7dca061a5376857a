"""Fetching a document from an http(s) URL, with a size cap and a time limit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ingest.errors import FetchError, TooLarge


@dataclass
class Fetched:
    """A downloaded document: its bytes, final URL and declared content type."""

    data: bytes
    url: str
    content_type: str


def is_url(value: str) -> bool:
    """Whether ``value`` names a web address rather than a path."""
    return value.lower().startswith(("http://", "https://"))


def fetch_url(url: str, max_bytes: int, timeout: float = 20.0) -> Fetched:
    """Download ``url`` (http or https only), following redirects, at most ``max_bytes``."""
    import httpx

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"only http:// and https:// addresses can be fetched, not {url!r}")
    headers = {"User-Agent": "BriefingAssistant/0.1 (+document ingest)"}
    try:
        with (
            httpx.Client(follow_redirects=True, timeout=timeout, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise FetchError(f"the server answered HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise TooLarge(f"{declared / 1e6:.1f} MB, more than the limit")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"more than {max_bytes / 1e6:.0f} MB")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Fetched(data=b"".join(chunks), url=str(response.url), content_type=content_type)
    except httpx.TimeoutException as exc:
        raise FetchError(f"no answer within {timeout:.0f} s") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch: {exc}") from exc


def suffix_for(fetched: Fetched, content_types: dict[str, str]) -> str:
    """The loader suffix for a fetched document: its content type, else its URL's extension."""
    if fetched.content_type in content_types:
        return content_types[fetched.content_type]
    suffix = PurePosixPath(urlsplit(fetched.url).path).suffix.lower()
    return suffix or ".html"
