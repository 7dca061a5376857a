"""The one settings object: every knob the product has, read from the environment once.

Every field is read from an environment variable named ``BRIEF_<FIELD>`` (for example
``BRIEF_DATA_DIR``) or from a ``.env`` file in the working directory. Nothing else in
the code base reads environment variables for configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

COLLECTION_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
#: Bytes in one MiB. Every ``*_mb`` setting counts in MiB, so the upload check of each face and
#: the ingest pipeline, which all read the ``*_bytes`` properties, agree to the byte.
MIB = 1_048_576


class Settings(BaseSettings):
    """Typed configuration of Briefing Assistant; each field documents itself."""

    model_config = SettingsConfigDict(
        env_prefix="BRIEF_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        # An invalid setting is reported without its value: BRIEF_API_KEYS holds secrets.
        hide_input_in_errors=True,
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        Path("./brief-data"),
        description="Folder that holds the embedded Chroma store and the document registry.",
    )
    collection: str = Field(
        "default",
        description="Collection used when a command or call names none: 1-63 letters, digits, "
        "'-' and '_', starting and ending with a letter or digit.",
    )
    chroma_host: str | None = Field(
        None,
        description="Host of a Chroma server. When set, it is used instead of the embedded store.",
    )
    chroma_port: int = Field(
        8000, description="Port of the Chroma server named by BRIEF_CHROMA_HOST."
    )
    chroma_ssl: bool = Field(False, description="Reach the Chroma server over HTTPS.")

    # --- serving -----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web app binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")
    malloc_arena_max: int = Field(
        2,
        ge=0,
        le=1024,
        description="Memory pools (arenas) glibc's malloc may keep in the server, set when it "
        "starts (assistant/faces/http/arenas.py). Each thread otherwise gets its own, up to eight "
        "per core, and memory freed in one is not reused by the others: the server's memory "
        "creeps up under load. 0: glibc's default. No effect on other C libraries.",
    )

    # --- embedding ---------------------------------------------------------------------
    embed_dtype: str = Field(
        "auto",
        description="Precision of the embedding model on the CPU: 'bfloat16' (about 2x faster on "
        "CPUs with native bfloat16, cosine >= 0.995 to float32), 'float32', or 'auto': time both "
        "on this CPU when the model loads and keep the faster.",
    )
    embed_batch_tokens: int = Field(
        2048,
        ge=256,
        le=65536,
        description="Padded tokens per forward pass of the embedding model. Texts are sorted by "
        "length first; 2048 measured fastest on 2 cores (1024: -4%, 4096: same).",
    )
    embed_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Forward passes run in parallel, one core each; 0 means one per CPU core.",
    )

    # --- chunking ----------------------------------------------------------------------
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=254,
        description="Target size of a chunk in model tokens. The model reads at most 256 tokens, "
        "two of which are its own markers, so a chunk never exceeds 254.",
    )
    chunk_overlap_tokens: int = Field(
        40,
        ge=0,
        le=128,
        description="At most this many tokens of whole trailing sentences are repeated at the "
        "start of the next chunk, so a fact cut by a boundary is still found whole.",
    )

    # --- answering -----------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved for each question.")
    read_passages: int = Field(
        12,
        ge=1,
        le=50,
        description="Passages whose sentences the offline answerer reads (the answer is often "
        "in a passage ranked below the first few; the learned reader reads 30).",
    )
    answerer: Literal["rules", "reader"] = Field(
        "rules",
        description="The offline answerer: the sentence scorer with its abstention model and "
        "short-answer rules, or the learned reader (assistant/answering/qa_reader.py, issue "
        "23), which is being measured against it and is not yet the default.",
    )
    read_windows: int = Field(
        16,
        ge=1,
        le=64,
        description="With the learned reader: sentences (each with its neighbours) it reads "
        "per question.",
    )
    short_reader: Literal["model", "rules"] = Field(
        "model",
        description="What finds the short answer of a question asking for a name or thing: the "
        "learned span reader (assistant/answering/span_reader.py) or the rules alone.",
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Questions longer than this many characters are refused."
    )
    max_history_messages: int = Field(
        40, ge=0, description="Conversations sent with a question may hold this many turns."
    )
    api_keys: SecretStr | None = Field(
        None,
        description="API keys, comma-separated, each 'key:scope' with scope 'admin' (everything, "
        "every collection) or 'ask' (ask, stream, brief, health), and an ask key's collections "
        "after '@', joined by '+': 'k1:admin,k2:ask@widget+faq'. An ask key that names none "
        "reads the default collection (BRIEF_COLLECTION) only; one that names some reads those, "
        "the first when a request names none. Unset: no keys, and the server keeps to loopback "
        "unless BRIEF_ALLOW_OPEN is set.",
    )
    view_link_hours: float = Field(
        168.0,
        gt=0,
        description="With API keys set: hours a link to the document viewer (a citation's "
        "'view') stays valid after it is made; default one week. The links are signed with a "
        "random secret kept in BRIEF_DATA_DIR/view.key (mode 0600): delete it to retire every "
        "link at once.",
    )
    allow_open: bool = Field(
        False, description="Serve beyond loopback even without API keys (not recommended)."
    )
    rate_limit_per_minute: int = Field(
        120,
        ge=0,
        description="API requests a minute per key, however its header is spelled (per address "
        "without keys); failed authentications (a wrong or missing key, a sign-in to the chat) "
        "count against the address they come from. 0: no limit.",
    )
    max_upload_files: int = Field(
        20, ge=1, description="Files one upload request may carry (HTTP API)."
    )
    max_request_mb: float = Field(
        2.0,
        gt=0,
        description="Request bodies larger than this many MiB (1,048,576 bytes) are refused with "
        "413 before they are read, on every route: JSON (a question with its conversation, a "
        "URL to add, an MCP call) and the chat's own calls. A file upload (multipart, by an "
        "admin key or the signed-in chat) may carry BRIEF_MAX_UPLOAD_FILES files of "
        "BRIEF_MAX_FILE_MB each, plus this much for its other fields.",
    )
    api_docs: bool = Field(
        False,
        description="Serve Swagger UI at /docs. Off by default: its script and style come from a "
        "CDN (jsDelivr) into this server's origin, where an admin's key and cookie live, and it "
        "shows nothing offline. The schema it reads is always at /openapi.json.",
    )
    mcp: bool = Field(
        False,
        description="Also serve the Model Context Protocol server "
        "(assistant/faces/mcp_server.py) at "
        "/mcp of the web server, for agents and desktop assistants, under the API keys, "
        "scopes and rate limit of /api/v1. `brief mcp` serves it on its own (stdio or HTTP).",
    )

    # --- help widget (/widget.js) ----------------------------------------------------------
    widget_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Web sites whose pages may embed the help widget, as comma-separated "
        "origins ('https://www.example.org,https://help.example.org'). Only these may call the "
        "API from a browser on another site; any other origin is refused (403). Empty: none.",
    )

    @field_validator("widget_origins", mode="before")
    @classmethod
    def _check_origins(cls, value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        # As browsers send it in the Origin header: scheme, host, optional port, no path.
        origin = r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?"
        origins = []
        for item in (str(i).strip().rstrip("/").lower() for i in items):
            if item and not re.fullmatch(origin, item):
                raise ValueError(
                    f"widget origin {item!r} is not an origin: use scheme://host[:port], "
                    "e.g. https://www.example.org (no path, no wildcard)"
                )
            for scheme, port in ("http://", ":80"), ("https://", ":443"):  # browsers omit them
                if item.startswith(scheme) and item.endswith(port):
                    item = item.removesuffix(port)
            origins.append(item)
        return tuple(dict.fromkeys(o for o in origins if o))

    # --- the server's names (DNS rebinding) -------------------------------------------------
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Names the server answers to besides localhost, 127.0.0.1 and [::1], as "
        "comma-separated host names or addresses, each with a port or without one for any "
        "('briefing.example.org,10.0.0.7:8443'). A request whose Host header names anything "
        "else is refused (421) on every route: always without API keys (a web page that rebinds "
        "its name to this server's address reaches nothing), and with keys once names are "
        "given here. Pages served by these names are the server's own (its chat may be used "
        "from them, whatever Host a proxy passes on).",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _check_hosts(cls, value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value or ())
        # As clients send it in the Host header: a name or address, an optional port.
        host = r"([a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?"
        hosts = []
        for item in (str(i).strip().lower().rstrip(".") for i in items):
            if item and not re.fullmatch(host, item):
                raise ValueError(
                    f"allowed host {item!r} is not a host name: use name[:port], e.g. "
                    "briefing.example.org or 10.0.0.7:8443 (no scheme, no path, no wildcard)"
                )
            hosts.append(item)
        return tuple(dict.fromkeys(h for h in hosts if h))

    # --- language model (optional) -----------------------------------------------------
    llm: str | None = Field(
        None,
        description="Chat model that writes answers, as 'provider:model' (LangChain "
        "init_chat_model names: 'openai:gpt-4o-mini', 'ollama:llama3.1', "
        "'anthropic:claude-sonnet-4-5'). Unset: the offline answerer quotes the sources.",
    )
    llm_base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM "
        "Studio), e.g. http://127.0.0.1:8080/v1. With it, a model name without a provider "
        "is taken as 'openai:<name>'.",
    )
    llm_api_key: SecretStr | None = Field(
        None, description="API key for the chat model's server (never logged or shown)."
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Time allowed for one model call.")

    # --- limits on input ---------------------------------------------------------------
    max_file_mb: float = Field(
        50.0,
        gt=0,
        description="Files larger than this many MiB (1 MiB = 1,048,576 bytes) are refused, by "
        "the upload check of every face and by ingest alike.",
    )
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are refused.")
    max_text_chars: int = Field(
        5_000_000,
        ge=1000,
        description="Documents whose cleaned text is longer than this are refused.",
    )
    max_unzipped_mb: float = Field(
        200.0,
        gt=0,
        description="DOCX files that would unpack to more than this many MiB (1,048,576 bytes "
        "each) are refused (decompression bombs).",
    )
    url_timeout_s: float = Field(
        20.0,
        gt=0,
        description="Time allowed to fetch one URL in all: connecting, redirects and the whole "
        "download (a server that trickles its bytes is cut off when it is up).",
    )
    url_min_kib_per_s: float = Field(
        1.0,
        ge=0,
        description="A URL's download averaging fewer KiB (1,024 bytes) a second than this, once "
        "it has run 3 s, is abandoned. 0: no minimum (the total time still holds).",
    )
    write_wait_s: float = Field(
        10.0,
        gt=0,
        description="How long a write (an ingest, a removal) waits for another one to finish "
        "before it is refused as busy (HTTP 503 store_busy with Retry-After; exit status 2 in "
        "the CLI). URLs are fetched before a write begins, so a slow web server does not hold "
        "the others up.",
    )
    allow_private_urls: bool = Field(
        False,
        description="Let URL ingest reach loopback, private (10/8, 172.16/12, 192.168/16, "
        "fc00::/7), link-local (169.254/16, cloud metadata) and other non-public addresses. Off: "
        "a URL, or any redirect, to such an address is refused (server-side request forgery).",
    )
    load_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Time allowed to read one file (PDF, DOCX, HTML, Markdown, or text over "
        "64 KB) in a reader process of its own; one that takes longer is refused and its reader "
        "replaced. A dense 2,000-page PDF reads in about 30 s.",
    )
    load_memory_mb: int = Field(
        1024,
        ge=256,
        description="Memory (address space) in MiB (1,048,576 bytes each) a reader process may "
        "use for one file; a file that needs more is refused. A 47 MB HTML page or a DOCX "
        "unpacking to 136 MB of XML needs more than the default.",
    )

    @field_validator("collection")
    @classmethod
    def _check_collection(cls, value: str) -> str:
        return check_collection_name(value)

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: SecretStr | None) -> SecretStr | None:
        # Refused when the settings are read (at start), not when the server is built.
        parse_api_keys(value.get_secret_value() if value else None)
        return value

    @field_validator("embed_dtype")
    @classmethod
    def _check_dtype(cls, value: str) -> str:
        if value not in ("auto", "bfloat16", "float32"):
            raise ValueError("embed_dtype must be 'auto', 'bfloat16' or 'float32'")
        return value

    @property
    def chroma_dir(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def registry_path(self) -> Path:
        """SQLite file that records each document, its full cleaned text and its state."""
        return self.data_dir / "documents.sqlite"

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes: the largest file any face accepts and ingest reads."""
        return int(self.max_file_mb * MIB)

    @property
    def max_request_bytes(self) -> int:
        """``max_request_mb`` in bytes: the largest request body other than a file upload."""
        return int(self.max_request_mb * MIB)

    @property
    def max_upload_bytes(self) -> int:
        """The largest file upload request: its files at their limit, and its other fields."""
        return self.max_upload_files * self.max_file_bytes + self.max_request_bytes

    @property
    def url_min_bytes_per_s(self) -> float:
        """``url_min_kib_per_s`` in bytes a second."""
        return self.url_min_kib_per_s * 1024

    @property
    def max_unzipped_bytes(self) -> int:
        """``max_unzipped_mb`` in bytes: the most a DOCX may unpack to."""
        return int(self.max_unzipped_mb * MIB)

    @property
    def uses_chroma_server(self) -> bool:
        """True when a Chroma server is configured instead of the embedded store."""
        return bool(self.chroma_host)


def check_collection_name(name: str) -> str:
    """Return ``name`` if it is a valid collection name, else raise ``ValueError``."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise ValueError(
            f"invalid collection name {name!r}: use 1-63 letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


KEY_SCOPES = ("admin", "ask")


@dataclass(frozen=True)
class KeyGrant:
    """What one API key may do: its ``scope``, and the ``collections`` it may read, the first
    being the one a request that names none gets; None: every collection (an admin key)."""

    scope: str
    collections: tuple[str, ...] | None

    def reads(self, collection: str) -> bool:
        """Whether this key may read ``collection``."""
        return self.collections is None or collection in self.collections

    def home(self, default: str) -> str:
        """The collection a request of this key that names none reads."""
        return self.collections[0] if self.collections else default


#: The shortest key accepted: a key may sit in a public page's widget and be guessed at from
#: anywhere, so it is long enough (24 random characters, about 140 bits) not to be worth it.
MIN_KEY_CHARS = 24


def parse_api_keys(spec: str | None, default: str = "default") -> dict[str, KeyGrant]:
    """``BRIEF_API_KEYS`` (``"k1:admin,k2:ask@widget+faq,k3:ask"``) -> {key: its grant}.

    A key without a scope is admin. An ask key that names no collection reads ``default``
    only. An admin key reaches every collection, so naming collections on one is refused:
    it would read as a limit that is not kept. ``ValueError`` says which entry is wrong and
    why, and never repeats a key.
    """
    keys: dict[str, KeyGrant] = {}
    entries = [item.strip() for item in (spec or "").split(",")]
    for n, item in enumerate((e for e in entries if e), start=1):
        where = f"BRIEF_API_KEYS entry {n}"
        key, _, grant = item.partition(":")
        key = key.strip()
        scope, at, names = grant.partition("@")
        scope = scope.strip() or "admin"
        if "@" in key:
            raise ValueError(
                f"{where}: a key's collections come after its scope, as 'KEY:ask@faq' ('@' "
                "may not be part of a key)"
            )
        if scope not in KEY_SCOPES:
            raise ValueError(f"{where}: unknown API key scope {scope!r}: use 'admin' or 'ask'")
        if len(key) < MIN_KEY_CHARS:
            raise ValueError(
                f"{where}: the key has {len(key)} characters; keys must have at least "
                f'{MIN_KEY_CHARS}. Make one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(24))"'
            )
        collections: tuple[str, ...] | None = None if scope == "admin" else (default,)
        if at:
            if scope == "admin":
                raise ValueError(
                    f"{where}: an admin key reaches every collection; name collections on ask "
                    "keys only ('KEY:ask@faq')"
                )
            listed = [name.strip() for name in names.split("+")]
            if not all(listed):
                raise ValueError(
                    f"{where} names no collection after '@' (or an empty one between '+'): "
                    "write 'KEY:ask@widget+faq'"
                )
            try:
                collections = tuple(dict.fromkeys(check_collection_name(c) for c in listed))
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if key in keys:
            raise ValueError(f"{where}: the same key is given more than once")
        keys[key] = KeyGrant(scope, collections)
    return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings()
