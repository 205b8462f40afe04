"""The query token chosen on an attention page: a slider, which a click on the chart also moves."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from course.figures import picked_query


@dataclass(frozen=True)
class QueryChoice:
    """The session-state keys of one page's query slider and of the chart whose clicks set it."""

    token_key: str
    chart_key: str

    def forget(self) -> None:
        """Drop the chosen position, so that a new line starts on its last token."""
        # Streamlit keeps a keyed slider's value while it is still among the options, so without
        # this the page would show a position of the old line instead of the new line's last token.
        st.session_state.pop(self.token_key, None)

    def choose_clicked(self) -> None:
        """Make the clicked cell's query the chosen token; use as the chart's on_select callback."""
        query = picked_query(st.session_state.get(self.chart_key))
        if query is not None:
            st.session_state[self.token_key] = query

    def slider(self, label: str, labels: list[str], container=st) -> int:
        """Draw the slider over the line's positions and return the chosen one (the last by default)."""
        # The slider takes its value from the session state, not `value=`, because a click sets that state.
        if st.session_state.get(self.token_key) not in range(len(labels)):
            st.session_state[self.token_key] = len(labels) - 1
        return container.select_slider(label, options=list(range(len(labels))),
                                       format_func=lambda position: labels[position], key=self.token_key)
