"""Measure the app: what one attention redraw costs, and how long `streamlit run` takes to serve a page.

Run: python -m benchmarks.app_speed

An attention redraw is what the Attention page computes after an edit. That is the model's
forward pass with attention weights, one head's heatmap over all T tokens (with the chosen
query's row outlined and a click target on each visible cell), the chosen query's row in every
head, and the grid of the layer's heads over the last GRID_MAX_TOKENS tokens (the page's cap).
It includes their JSON encoding, which is what `st.plotly_chart` sends to the browser. PyTorch
uses the app's thread count (`course.models.TORCH_THREADS`). The baseline is a plain `go.Heatmap` of
the same size with no model. The demo poet reads at most 128 tokens, so the 256-token case uses a
model of the poet's shape with a 256-token context, randomly initialized (the time does not
depend on the weights).

Cold start is the time from launching `streamlit run app.py` on 127.0.0.1 to the welcome page's
title in a headless chromium (through Playwright), or to the server's health endpoint when
chromium or Playwright is missing. The baseline is `python -c "import streamlit"`.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import plotly.graph_objects as go
import torch

from course.figures import add_query_picker, attention_grid, attention_heatmap, highlight_query, query_attention_by_head
from course.models import TORCH_THREADS
from course.pages.attention import GRID_MAX_TOKENS
from reference.cli import DEMO_POET
from reference.model import GPT
from reference.poet import load_poet

REPOSITORY = Path(__file__).resolve().parents[1]
REDRAW_TARGET_S = 0.300
COLD_START_TARGET_S = 5.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def median_seconds(function, repeats: int = 7) -> float:
    function()  # warm-up: first calls pay for lazy imports and allocator growth
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def attention_redraw(model: GPT, ids: list[int]) -> None:
    with torch.no_grad():
        _, attention = model.forward_with_attention(torch.tensor([ids]))  # n_layer x (1, H, T, T)
    labels = [f"t{position}" for position in range(len(ids))]
    weights = attention[0][0]  # (H, T, T)
    query = len(ids) - 1
    heatmap = highlight_query(attention_heatmap(weights[0], labels), query, len(ids))
    add_query_picker(heatmap).to_json()
    query_attention_by_head([layer[0] for layer in attention], query, labels).to_json()
    cap = GRID_MAX_TOKENS
    attention_grid(weights[:, -cap:, -cap:], labels[-cap:]).to_json()


def plain_heatmap(T: int) -> None:
    go.Figure(go.Heatmap(z=torch.rand(T, T).numpy())).to_json()


def measure_redraws() -> None:
    poet = load_poet(DEMO_POET)
    long_model = GPT(replace(poet.model.config, context_length=256)).eval()
    for T, model, note in ((64, poet.model, "demo poet"), (256, long_model, "poet shape, 256-token context, random weights")):
        ids = torch.randint(poet.tokenizer.vocab_size, (T,), generator=torch.Generator().manual_seed(T)).tolist()
        redraw = median_seconds(lambda: attention_redraw(model, ids))
        baseline = median_seconds(lambda: plain_heatmap(T))
        verdict = "meets" if redraw < REDRAW_TARGET_S else "misses"
        print(f"attention redraw, T={T:3d} ({note}): median {1000 * redraw:6.1f} ms, "
              f"target {1000 * REDRAW_TARGET_S:.0f} ms ({verdict}); baseline plain heatmap {1000 * baseline:6.1f} ms")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url: str, server: subprocess.Popen, timeout_s: float = 120.0) -> str:
    """Wait until the welcome page renders in chromium (or, without it, until /_stcore/health responds)."""
    if CHROMIUM.is_file():
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None
        if sync_playwright is not None:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page()
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    try:
                        page.goto(url, timeout=5000)
                        break
                    except Exception:  # noqa: BLE001 - the server is not listening yet
                        time.sleep(0.05)
                page.get_by_role("heading", name="LLM From Scratch").wait_for(timeout=timeout_s * 1000)
                browser.close()
                return "welcome title rendered in chromium"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return "health endpoint answered (no browser)"
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit did not serve {url} within {timeout_s} s")


def measure_cold_start() -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import streamlit"], check=True)
    import_seconds = time.perf_counter() - started

    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
               str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    # The browser launch happens while the server starts, so its own start-up overlaps the server's.
    server = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        how = wait_until_served(f"http://127.0.0.1:{port}", server)
        cold_seconds = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    verdict = "meets" if cold_seconds < COLD_START_TARGET_S else "misses"
    print(f"cold start to first page ({how}): {cold_seconds:.2f} s, target {COLD_START_TARGET_S:.0f} s ({verdict}); "
          f"baseline `python -c \"import streamlit\"` {import_seconds:.2f} s")


def main() -> None:
    torch.set_num_threads(TORCH_THREADS)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)")
    measure_redraws()
    measure_cold_start()


if __name__ == "__main__":
    main()
