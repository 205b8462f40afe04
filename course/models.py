"""Cached loaders for the app: the demo poet and tiktoken's encodings.

`st.cache_resource` keeps one copy per server process, shared by every session, so a widget
interaction never reloads a model. The cached objects are only read (the poet's model stays in
eval mode, and the tokenizers are not changed), which makes sharing them between students safe.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import streamlit as st
import tiktoken

from reference.bpe import BPETokenizer
from reference.checkpoint import CheckpointError
from reference.cli import DEMO_POET
from reference.poet import Poet, load_poet
from reference.tiktoken_offline import available_encodings, load_encoding, load_reference_bpe

logger = logging.getLogger(__name__)

# Environment variable that points the app at another poet checkpoint than the shipped demo.
POET_PATH_VARIABLE = "LLM_FROM_SCRATCH_POET"
MAKE_DEMO_POET = "make demo-poet"
# PyTorch threads in the app's process. The models are small, so one thread per forward pass is
# about as fast as several, and it keeps concurrent sessions and studio trainings from
# oversubscribing the cores. With 2 threads on a busy 2-core machine, a 64-token attention pass
# took 150 ms instead of 15 ms (measured with benchmarks/app_speed.py's model).
TORCH_THREADS = 1


def poet_path() -> Path:
    """Return the poet checkpoint the app shows: $LLM_FROM_SCRATCH_POET, else the demo poet."""
    return Path(os.environ.get(POET_PATH_VARIABLE) or DEMO_POET)


@st.cache_resource(show_spinner="Loading the poet ...")
def load_cached_poet(path: str, modified: float) -> Poet:
    """Load a poet checkpoint once per path and modification time (a retrained file reloads)."""
    logger.info("loading poet %s (modified %s)", path, modified)
    return load_poet(path)


def find_poet() -> Poet | None:
    """Return the poet at `poet_path()`, or None when the file does not exist."""
    path = poet_path()
    if not path.is_file():
        return None
    return load_cached_poet(str(path), path.stat().st_mtime)


def require_poet() -> Poet:
    """Return the poet, or show how to create it and stop the page when it is missing or damaged."""
    path = poet_path()
    try:
        poet = find_poet()
    except CheckpointError as error:
        logger.warning("poet checkpoint %s is unusable: %s", path, error)
        st.error(f"The poet checkpoint could not be loaded: {error}")
        st.stop()
    if poet is None:
        st.warning(
            f"No poet checkpoint at `{path}`. Create the demo poet with `{MAKE_DEMO_POET}` "
            f"(about ten minutes on a laptop CPU), then reload this page."
        )
        st.stop()
    return poet


@st.cache_resource(show_spinner="Loading a tiktoken encoding ...")
def load_cached_encoding(name: str) -> tiktoken.Encoding:
    """Load one of tiktoken's encodings from local files, once per server process."""
    return load_encoding(name)


@st.cache_resource(show_spinner="Rebuilding a tiktoken encoding as the course's own BPE tokenizer ...")
def load_cached_reference_bpe(name: str) -> BPETokenizer:
    """Build the course's `BPETokenizer` from a tiktoken encoding's ranks, once per server process."""
    return load_reference_bpe(name)


@st.cache_resource
def encoding_status() -> dict[str, str]:
    """Map each tiktoken encoding name to "available" or the reason it cannot load offline."""
    return available_encodings()
