"""Poet studio: assemble the student's poet from their passing exercises, train it, let it write.

Training and writing run in a sandboxed process (`course.studio`), because they call the
student's code. The writing process also records the attention weights that the assembled model
computes on the poem's first line, with the student's own `scaled_dot_product_attention` where it
is theirs, and the page draws those numbers. When they cannot be recorded (a student piece
computes attention inline), the page loads the trained weights (tensors only) into the reference
`GPT` and draws the attention that the reference code computes, labelled as such.
"""

from __future__ import annotations

import html
import logging
import os
import statistics

import pandas as pd
import streamlit as st
import torch

from course.assembly import PIECE_ROLES, REFERENCE, YOURS, assemble_poet
from course.corpus import default_cache_dir, load_corpus
from course.figures import attention_grid
from course.lesson_figures import loss_curve_figure
from course.models import require_poet
from course.pages.student import Student, course_dir, optional_module, passed_exercises, require_student, workspace_files
from course.studio import StudioBusy, StudioManager, StudioSettings, TrainingRun, WrittenPoem, first_line, job_data
from course.token_view import position_labels, token_label
from reference.model import GPT
from reference.poet import Poet
from reference.preparation import prepare

logger = logging.getLogger(__name__)

# Server-wide cap on trainings at once; each uses StudioSettings.threads CPU threads.
MAX_TRAININGS_VARIABLE = "LLM_FROM_SCRATCH_MAX_TRAININGS"
STUDIO_CORPUS_CHARS = 400_000  # enough verse for a few hundred steps; encodes in about a second
# A teacher's corpus for the studio: a corpus name or a path to a .txt file or folder (default "poetry").
STUDIO_CORPUS_VARIABLE = "LLM_FROM_SCRATCH_STUDIO_CORPUS"
# Steps in the median throughput: a single step's time swings with whatever else the server runs.
THROUGHPUT_WINDOW = 10
# Caption under the attention maps, keyed by whose scaled_dot_product_attention computed them.
ATTENTION_CAPTIONS = {
    YOURS: "Attention computed by your own scaled_dot_product_attention, inside the sandbox, "
           "on your poet's trained weights.",
    REFERENCE: "Attention computed by the reference attention (yours does not pass yet), inside the sandbox, "
               "on your poet's trained weights.",
}
POEM_STYLE = ("font-family:Georgia,serif;font-size:1.25rem;line-height:1.55;white-space:pre-wrap;"
              "background:#fbf8f1;color:#222;padding:1rem 1.4rem;border-left:4px solid #c9b78f")


@st.cache_resource(show_spinner=False)
def studio_manager() -> StudioManager:
    """Create the server's one training manager."""
    hidden = (course_dir() / "course_data",)  # the gradebook and every student's workspace
    return StudioManager(max_concurrent=int(os.environ.get(MAX_TRAININGS_VARIABLE) or 2), hidden_paths=hidden)


@st.cache_resource(show_spinner="Encoding the training text ...")
def studio_data(_poet: Poet, poet_key: str, source: str) -> tuple[dict, str]:
    """Encode the studio's corpus with the demo poet's tokenizer, once per server, poet and corpus;
    return the job data and the corpus description."""
    corpus = load_corpus(source, max_chars=STUDIO_CORPUS_CHARS, cache_dir=default_cache_dir())
    data = prepare(corpus.train, corpus.validation, _poet.tokenizer.vocab_size, 0, None, _poet.tokenizer)
    return job_data(_poet.tokenizer, data.train_tokens, data.val_tokens), corpus.description


def studio_corpus(poet: Poet) -> dict:
    """Return the job data for the configured corpus, or stop the page with the loading error."""
    source = os.environ.get(STUDIO_CORPUS_VARIABLE) or "poetry"
    try:
        data, description = studio_data(poet, str(id(poet)), source)
    except (ValueError, FileNotFoundError) as error:
        logger.error("studio corpus %r could not be loaded: %s", source, error)
        st.error(f"The training text for the studio could not be loaded: {error}. "
                 f"Set {STUDIO_CORPUS_VARIABLE} to a corpus name or a .txt file or folder, then restart the app.")
        st.stop()
    st.caption(f"Training text: {description}")
    return data


def poet_studio_page() -> None:
    """Render the Poet studio page."""
    st.title("Poet studio")
    student = require_student()
    demo = require_poet()
    pieces, factory = assemble_poet(workspace_files(student), passed_exercises(student))
    show_pieces(pieces)

    settings = settings_controls()
    manager = studio_manager()
    data = studio_corpus(demo)
    run = manager.run_of(student.id)
    start_column, note_column = st.columns([1, 3])
    if start_column.button("Train my poet", type="primary", key="studio.start", disabled=bool(run and run.running)):
        try:
            run = manager.start(student.id, factory, pieces, settings, data, on_change=poet_status_writer(student))
            st.session_state["studio.run"] = run
            # The poems on the page came from the poet that this training replaces.
            for key in ("studio.poem", "studio.demo_poem"):
                st.session_state.pop(key, None)
        except (StudioBusy, ValueError) as error:
            st.warning(str(error))
    note = f"Training {manager.sandbox_note}; at most {manager.max_concurrent} poets train at once on this server."
    if run is not None and not run.running and run.weights_path.is_file():
        note += " Training again replaces the poet you have now, even if you stop the new training early."
    note_column.caption(note)

    if run is not None:
        training_panel(student.id)
        if not run.running and run.weights_path.is_file():
            writing_panel(run, manager, factory, data, demo)


def poet_status_writer(student: Student):
    """Return a callback that keeps the workspace's poet status file current for the teacher, or None."""
    dashboard = optional_module("grader.dashboard")
    if dashboard is None or not student.classroom:
        return None
    states = {"starting": "training", "training": "training", "finished": "trained", "stopped": "trained",
              "failed": "failed"}

    def write(run: TrainingRun) -> None:
        last = run.records[-1] if run.records else {}
        status = dashboard.PoetStatus(state=states[run.status], step=last.get("step", 0), max_steps=run.settings.steps,
                                      loss=last.get("loss"), updated_at=dashboard.utc_now_text(), message=run.message)
        dashboard.write_poet_status(student.workspace, status)

    return write


def show_pieces(pieces: dict[str, str]) -> None:
    """Tabulate whose code each piece of the poet is."""
    yours = sum(owner == YOURS for owner in pieces.values())
    st.write(f"Your poet uses **{yours} of {len(pieces)}** pieces from your own exercises; every piece whose "
             f"exercise does not pass yet comes from the reference. A piece of yours that calls other pieces "
             f"(such as `transformer_block`) decides for itself which ones it uses.")
    table = pd.DataFrame([{"piece": piece, "role": PIECE_ROLES[piece], "code": owner} for piece, owner in pieces.items()])
    st.dataframe(table, hide_index=True, key="studio.pieces")


def settings_controls() -> StudioSettings:
    """Draw the training settings and return them."""
    left, middle, right = st.columns(3)
    steps = left.slider("Training steps", 20, 2000, 300, 20, key="studio.steps")
    d_model = middle.select_slider("Model width", [32, 64, 96, 128], 96, key="studio.width")
    n_layer = right.select_slider("Layers", [1, 2, 3, 4], 2, key="studio.layers")
    return StudioSettings(steps=steps, d_model=d_model, n_layer=n_layer, eval_interval=max(10, steps // 10))


def training_panel(student_id: str) -> None:
    """Show the live progress of the student's training, refreshed every second while it runs."""
    run = studio_manager().run_of(student_id)
    interval = 1.0 if run.running else None

    @st.fragment(run_every=interval)
    def live() -> None:
        current = studio_manager().run_of(student_id)
        if interval is not None and not current.running:
            st.rerun(scope="app")  # the writing panel appears only after a full rerun
        show_progress(current)

    live()


def show_progress(run: TrainingRun) -> None:
    """Draw the progress bar, the numbers of the last step, the loss curve and the stop button."""
    last = run.records[-1] if run.records else None
    label = f"{run.status}: step {last['step']} of {run.settings.steps}" if last else f"{run.status} ..."
    st.progress(min(run.progress(), 1.0), text=label)
    if last:
        left, middle, right = st.columns(3)
        left.metric("training loss", f"{last['loss']:.3f}")
        middle.metric("tokens per second", f"{recent_throughput(run.records):,.0f}",
                      help=f"median over the last {THROUGHPUT_WINDOW} steps, because one step's time is noisy")
        right.metric("validation loss", f"{run.evaluations[-1]['val_loss']:.3f}" if run.evaluations else "-")
        history = [{"step": r["step"], "train_loss": r["loss"]} for r in run.records] + \
                  [{"step": e["step"], "val_loss": e["val_loss"]} for e in run.evaluations]
        figure = loss_curve_figure(history)
        figure.update_yaxes(automargin=True, title_standoff=12)  # the title covered the tick labels
        st.plotly_chart(figure, theme=None, key="studio.loss")
    if run.running and st.button("Stop training", key="studio.stop"):
        run.stop()
    if run.status == "failed":
        st.error(f"Training failed: {run.message}")
    elif run.status == "stopped":
        st.info("Training stopped; the weights so far were saved.")


def recent_throughput(records: list[dict], window: int = THROUGHPUT_WINDOW) -> float:
    """Return the median tokens per second of the last `window` steps.

    >>> recent_throughput([{"tokens_per_second": t} for t in (100.0, 9000.0, 9100.0, 8900.0)], window=3)
    9000.0
    """
    recent = [record["tokens_per_second"] for record in records[-window:]]
    return statistics.median(recent)


def writing_panel(run: TrainingRun, manager: StudioManager, factory, data: dict, demo: Poet) -> None:
    """Write with the trained poet beside the demo poet, and show the attention on its poem."""
    st.header("Let your poet write")
    prompt = st.text_input("Opening words", value="The sea at night", key="studio.prompt")
    left, middle, right = st.columns(3)
    temperature = left.slider("Temperature", 0.0, 2.0, 0.8, 0.05, key="studio.temperature")
    top_k = middle.slider("Top-k (0 = off)", 0, 200, 40, key="studio.top_k") or None
    top_p = right.slider("Top-p (1.0 = off)", 0.05, 1.0, 1.0, 0.05, key="studio.top_p")
    top_p = top_p if top_p < 1.0 else None
    max_new_tokens = left.slider("New tokens", 10, 200, 60, 10, key="studio.tokens")
    seed = int(middle.number_input("Seed", 0, 2**31 - 1, 0, key="studio.seed"))

    if st.button("Write", type="primary", key="studio.write"):
        try:
            with st.spinner("Your poet is writing in its sandbox ..."):
                st.session_state["studio.poem"] = manager.write(run, factory, data, prompt, max_new_tokens,
                                                                temperature, top_k, top_p, seed)
        except (RuntimeError, TimeoutError, FileNotFoundError, ValueError) as error:
            st.error(str(error))
        st.session_state["studio.demo_poem"] = demo.write(prompt, max_new_tokens, temperature, top_k, top_p, seed)

    poem = st.session_state.get("studio.poem")
    if poem is None:
        return
    yours_column, demo_column = st.columns(2)
    yours_column.subheader("Your poet")
    yours_column.html(f'<div style="{POEM_STYLE}">{html.escape(poem.text)}</div>')
    demo_column.subheader("The reference demo poet")
    demo_column.html(f'<div style="{POEM_STYLE}">{html.escape(st.session_state.get("studio.demo_poem", ""))}</div>')
    show_poem_attention(run, demo, poem)


def show_poem_attention(run: TrainingRun, demo: Poet, poem: WrittenPoem) -> None:
    """Draw the attention of the student's model on the poem's first line, with a caption naming whose code computed it."""
    if poem.attention is None:
        st.info(f"Your poet's own attention could not be recorded: {poem.reason.rstrip('.')}.")
        show_reference_attention(run, demo, poem.line or first_line(poem.text))
        return
    layer = st.selectbox("Layer", range(1, len(poem.attention) + 1), key="studio.layer")
    labels = position_labels([token_label(demo.tokenizer.token_bytes(token_id)) for token_id in poem.ids])
    st.plotly_chart(attention_grid(poem.attention[layer - 1], labels, title=f"Your poet, layer {layer}: {poem.line[:60]}"),
                    theme=None, key="studio.attention")
    st.caption(attention_caption(poem.source, run.pieces))


def attention_caption(source: str, pieces: dict[str, str]) -> str:
    """Say whose code computed the studio's attention maps, naming the student's inner pieces it used.

    >>> print(attention_caption(REFERENCE, {"softmax": YOURS, "causal_mask": REFERENCE}))
    Attention computed by the reference attention formula with your own softmax, inside the sandbox, on your poet's trained weights.
    """
    if source == YOURS:
        return ATTENTION_CAPTIONS[YOURS]
    # The reference formula still calls the student's softmax and causal_mask where those pass.
    inner = [piece for piece in ("softmax", "causal_mask") if pieces.get(piece) == YOURS]
    if not inner:
        return ATTENTION_CAPTIONS[REFERENCE]
    return (f"Attention computed by the reference attention formula with your own {' and '.join(inner)}, "
            f"inside the sandbox, on your poet's trained weights.")


def show_reference_attention(run: TrainingRun, demo: Poet, line: str) -> None:
    """Draw the attention that the reference code computes with the trained weights on `line`."""
    model = trained_model(str(run.weights_path), run.weights_path.stat().st_mtime, run.settings, demo.tokenizer.vocab_size)
    ids = demo.tokenizer.encode_ordinary(line)[:model.config.context_length]
    if not ids:
        return
    with torch.no_grad():
        _, attention = model.forward_with_attention(torch.tensor([ids]))  # n_layer x (1, H, T, T)
    layer = st.selectbox("Layer", range(1, model.config.n_layer + 1), key="studio.layer")
    labels = position_labels([token_label(demo.tokenizer.token_bytes(token_id)) for token_id in ids])
    st.plotly_chart(attention_grid(attention[layer - 1][0], labels, title=f"Your poet, layer {layer}: {line[:60]}"),
                    theme=None, key="studio.attention")
    st.caption("Your poet's trained weights, with attention computed by the reference code in the app, "
               "not by your own code.")


@st.cache_resource(show_spinner=False, max_entries=32)
def trained_model(path: str, modified: float, settings: StudioSettings, vocab_size: int) -> GPT:
    """Load a training's weights (tensors only, never pickled code) into a reference GPT."""
    model = GPT(settings.model_config(vocab_size))
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


if __name__ == "__main__":
    poet_studio_page()
