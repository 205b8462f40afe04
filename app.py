"""The Streamlit entry point: navigation between the course's pages, and the poet in the sidebar.

Run it with `make run` (or `streamlit run app.py`). Each page lives in `course/pages/`.
"""

import streamlit as st

from course.models import find_poet, poet_path
from reference.checkpoint import CheckpointError

PAGES = [
    st.Page("course/pages/welcome.py", title="Welcome", icon=":material/home:", default=True),
    st.Page("course/pages/tokens.py", title="Tokens", icon=":material/text_fields:"),
    st.Page("course/pages/attention.py", title="Attention", icon=":material/grid_on:"),
    st.Page("course/pages/write.py", title="Write a poem", icon=":material/edit_note:"),
]


def show_poet_summary() -> None:
    """Say in the sidebar which poet the pages use: its training steps and validation loss."""
    try:
        poet = find_poet()
    except CheckpointError as error:
        st.sidebar.error(f"The poet checkpoint could not be loaded: {error}")
        return
    if poet is None:
        st.sidebar.warning(f"No poet at `{poet_path()}`; create it with `make demo-poet`.")
        return

    last = poet.info.get("history", [{}])[-1] if poet.info.get("history") else {}
    lines = [f"**Poet:** `{poet_path().name}`", f"{poet.info.get('step', '?')} training steps"]
    if "val_loss_per_char" in last:
        lines.append(f"validation loss {last['val_loss_per_char']:.3f} per character")
    elif "val_loss" in last:
        lines.append(f"validation loss {last['val_loss']:.3f} per token")
    st.sidebar.markdown("  \n".join(lines))


def main() -> None:
    st.set_page_config(page_title="LLM From Scratch", page_icon=":material/edit_note:", layout="wide")
    page = st.navigation(PAGES)
    show_poet_summary()
    page.run()


if __name__ == "__main__":
    main()
