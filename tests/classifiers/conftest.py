"""Fixtures of the classifier tests: a tiny randomly initialised BERT and a head for it.

Both are CONSTRUCTED (random weights, a 60-word vocabulary): they exercise the loading,
pooling and combination code paths in milliseconds; they know nothing about sectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers.head import Head
from classifiers.lexical import LexicalModel
from classifiers.neighbours import LabelledNeighbours
from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy

TINY_WORDS = [
    "toy",
    "toys",
    "doll",
    "battery",
    "lithium",
    "charger",
    "lamp",
    "shoe",
    "shirt",
    "food",
    "tea",
    "milk",
    "steel",
    "car",
    "tyre",
    "safety",
    "of",
    "for",
    "the",
    "and",
    "a",
    "with",
    "children",
    "electric",
    "requirements",
    "regulation",
    "products",
    "product",
    "recall",
    "query",
    ":",
    ",",
    ".",
    "-",
    "|",
    "玩",
    "具",
    "食",
    "品",
    "jouet",
    "spielzeug",
    "игрушка",
]


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BertModel folder with 2 layers of width 32 and a word-level tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(specials + list(dict.fromkeys(TINY_WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=1,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    (folder / "meta.json").write_text(json.dumps({"constructed": True, "why": "random tiny BERT for fast unit tests"}))
    return folder


@pytest.fixture(scope="session")
def tiny_head_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head of random weights for the tiny encoder; toys always fires (bias +20)."""
    folder = tmp_path_factory.mktemp("tiny-head")
    sectors = [c for c in load_taxonomy().codes if c != CROSS_SECTOR]
    rng = np.random.default_rng(0)
    biases = np.full(len(sectors), -20.0, dtype=np.float32)
    biases[sectors.index("toys")] = 20.0
    exemplars = rng.normal(size=(2, 32)).astype(np.float32)
    exemplars /= np.linalg.norm(exemplars, axis=1, keepdims=True)
    Head(
        sectors=sectors,
        weights=rng.normal(scale=0.01, size=(len(sectors), 32)).astype(np.float32),
        biases=biases,
        thresholds=np.full(len(sectors), 0.5, dtype=np.float32),
        exemplar_vectors=exemplars,
        exemplar_sectors=["toys", "toys"],
        exemplar_texts=["constructed example one", "constructed example two"],
        meta={"version": "test", "constructed": True},
    ).save(folder)
    return folder


def silent_vector_head(
    folder: Path,
    *,
    dim: int = 32,
    lexical: LexicalModel | None = None,
    lexical_weight: float = 0.0,
    neighbours: LabelledNeighbours | None = None,
    neighbour_weight: float = 0.0,
) -> Head:
    """A CONSTRUCTED head whose vector part never fires (bias -20), saved to ``folder``:
    what fires comes from the lexical part or the neighbour votes mixed in."""
    sectors = [c for c in load_taxonomy().codes if c != CROSS_SECTOR]
    exemplars = np.random.default_rng(3).normal(size=(1, dim)).astype(np.float32)
    exemplars /= np.linalg.norm(exemplars)
    head = Head(
        sectors=sectors,
        weights=np.zeros((len(sectors), dim), dtype=np.float32),
        biases=np.full(len(sectors), -20.0, dtype=np.float32),
        thresholds=np.full(len(sectors), 0.3, dtype=np.float32),
        exemplar_vectors=exemplars,
        exemplar_sectors=["toys"],
        exemplar_texts=["constructed example"],
        lexical=lexical,
        neighbours=neighbours,
        meta={
            "version": "test",
            "constructed": True,
            "lexical_weight": lexical_weight,
            "neighbour_weight": neighbour_weight,
        },
    )
    head.save(folder)
    return head
